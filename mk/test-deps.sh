#!/bin/sh
# mk/test-deps.sh - what `make check` uses beyond the build: found, and on
# Debian/Ubuntu, as root, installed; otherwise named in one message with
# the command to run. Run by the Makefile's check goal before the tests.
#
# Always exits 0: a test whose tool is missing is a counted skip that says
# why (tests/run.sh). ENVMATRIX_NO_INSTALL=1 names what is missing without
# installing it, also as root.
#
#   sh mk/test-deps.sh --list   print the missing Debian packages on one
#                               line (mk/deps.sh adds them to its command)
set -u
cd "$(dirname "$0")/.." || exit 0

# the npm packages that parse Activate.ps1 (tests/cli/test_activate.sh),
# in build/npm; pinned, as their grammar's WebAssembly must match the runtime
npm_prefix=build/npm
npm_pkgs="web-tree-sitter@0.27.2 tree-sitter-powershell@0.26.4"

# what is missing, as Debian packages
missing=""
need() { # PACKAGE: add it once
	case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac
}
have() { command -v "$1" >/dev/null 2>&1; }
have_nginx() { have nginx || [ -x /usr/sbin/nginx ]; }
have_fuzz_cc() { [ -n "$(sh mk/deps.sh fuzz-cc)" ]; }
have_npm_pkgs() {
	[ -f "$npm_prefix/node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm" ] &&
		[ -d "$npm_prefix/node_modules/web-tree-sitter" ]
}

check() {
	missing=""
	# a CPython with venv and ensurepip (apply, verify --venv, the demo),
	# and real pip and setuptools wheels
	have python3 || need python3
	have python3 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && need python3-venv
	ls /usr/share/python-wheels/pip-*.whl >/dev/null 2>&1 || need python3-pip-whl
	# the wheel package, which setuptools before 70.1 needs to build wheels
	# (tests/cli/test_build.sh builds real sdists with real setuptools)
	ls /usr/share/python-wheels/wheel-*.whl >/dev/null 2>&1 || need python3-wheel-whl
	# command -> package: the local index servers (curl, nginx, openssl),
	# the apply and cache locks (flock), activation scripts (the shells and
	# their linter), .tar.zst interpreter archives (zstd), wheel members
	# (unzip), history (git), interpreter archives' RUNPATH (readelf),
	# the layer checks (nm), linking against `make install` (pkg-config)
	for pair in curl:curl openssl:openssl flock:util-linux bash:bash dash:dash zsh:zsh \
		fish:fish shellcheck:shellcheck zstd:zstd unzip:unzip git:git readelf:binutils \
		nm:binutils pkg-config:pkg-config; do
		have "${pair%%:*}" || need "${pair#*:}"
	done
	have_nginx || need nginx
	# the fuzz smoke runs: clang with libFuzzer
	have_fuzz_cc || { need clang; need libclang-rt-dev; }
	# Activate.ps1's parser runs on node; its packages come from npm
	have node || need nodejs
	have npm || have_npm_pkgs || need npm
}

check
if [ "${1:-}" = --list ]; then
	echo "${missing# }"
	exit 0
fi
npm_missing=no
have_npm_pkgs || npm_missing=yes
[ -z "$missing" ] && [ $npm_missing = no ] && exit 0

if [ "$(id -u)" = 0 ] && [ "${ENVMATRIX_NO_INSTALL:-0}" != 1 ] && have apt-get; then
	if [ -n "$missing" ]; then
		echo "envmatrix: installing what the tests use:$missing"
		export DEBIAN_FRONTEND=noninteractive
		# packages installed here must not start services (nginx would
		# take port 80); the tests start their own servers on free ports
		made_policy=no
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
				chmod 755 /usr/sbin/policy-rc.d && made_policy=yes
		fi
		# shellcheck disable=SC2086
		if ! apt-get install -y -q --no-install-recommends $missing; then
			apt-get update -q || true
			# shellcheck disable=SC2086
			if ! apt-get install -y -q --no-install-recommends $missing; then
				# one by one, so that one this release lacks does not
				# keep the others out
				for p in $missing; do
					apt-get install -y -q --no-install-recommends "$p" ||
						echo "envmatrix: warning: could not install $p"
				done
			fi
		fi
		[ $made_policy = yes ] && rm -f /usr/sbin/policy-rc.d
	fi
	if ! have_npm_pkgs && have npm; then
		echo "envmatrix: installing the npm packages that parse Activate.ps1: $npm_pkgs"
		# at most 5 minutes: a registry that does not answer is a skip, not a hang
		# shellcheck disable=SC2086
		timeout 300 npm install --prefix "$npm_prefix" --no-audit --no-fund --ignore-scripts $npm_pkgs ||
			echo "envmatrix: warning: npm install failed; Activate.ps1 will not be parsed"
	fi
	check
	npm_missing=no
	have_npm_pkgs || npm_missing=yes
	[ -z "$missing" ] && [ $npm_missing = no ] && exit 0
	echo "envmatrix: still missing:$missing$([ $npm_missing = yes ] && echo " (npm) $npm_pkgs");" \
		"the tests that need them are skipped"
	exit 0
fi

# not root (or no apt-get): everything missing, at once, with the commands
what=$missing
[ $npm_missing = yes ] && what="$what (npm) $npm_pkgs"
echo "envmatrix: the tests use what this machine lacks:$what;" \
	"the tests that need it are skipped and counted"
if [ -n "$missing" ]; then
	if have apt-get; then
		echo "envmatrix: as root, run: apt-get install -y --no-install-recommends$missing"
	else
		echo "envmatrix: install these (Debian package names):$missing"
	fi
fi
if [ $npm_missing = yes ]; then
	echo "envmatrix: and in $(pwd): npm install --prefix $npm_prefix --no-audit --no-fund" \
		"--ignore-scripts $npm_pkgs"
fi
exit 0
