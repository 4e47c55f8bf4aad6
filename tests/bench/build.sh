#!/bin/sh
# build.sh - `make bench`, part three: building a small pure-Python sdist.
#
#   sh tests/bench/build.sh ENVMATRIX
#
# An sdist made here (pyproject.toml [project], setuptools backend, a
# package of 20 small modules) is built into a wheel offline, with the
# real setuptools that pyenv's Python 3.11 bundles for ensurepip and
# Debian's wheel package (python3-wheel-whl) as the only find-links (not
# Debian's setuptools wheel, which fails on pyenv interpreters). Timed, the
# median of ROUNDS rounds, each on a fresh copy of the sdist (another
# version, so nothing of an earlier round's wheel can be reused):
#   (a) pip wheel --no-deps, build isolation from the same find-links
#       (pip makes its build environment each time): the baseline
#   (b) envmatrix build with an empty cache: resolves the build
#       requirements, makes the build environment, runs the hooks
#   (c) envmatrix build of a new sdist, the build environment cached
#   (d) envmatrix build of the same sdist again: the wheel comes from
#       the cache, no hook runs
#   (e) pip wheel --no-deps --no-build-isolation in a venv that already
#       has setuptools and wheel: pip's build alone
# each as a ratio to (a). Skipped, saying why, without pyenv's 3.11 and
# its bundled setuptools or Debian's wheel wheel.
set -u
EM=$1
ROUNDS=${BUILD_ROUNDS:-5}
echo "build a pure-Python sdist (setuptools) into a wheel, offline"

root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
PY='' ST=''
for p in "$root"/versions/3.11.*/bin/python3.11; do
	[ -x "$p" ] || continue
	s=$(ls "$(dirname "$p")"/../lib/python3.11/ensurepip/_bundled/setuptools-*.whl 2>/dev/null | head -n 1)
	[ -n "$s" ] || continue
	PY=$p ST=$s
done
WHEELWHL=$(ls /usr/share/python-wheels/wheel-*.whl 2>/dev/null | head -n 1)
if [ -z "$PY" ]; then
	echo "  skipped: no pyenv Python 3.11 with a bundled setuptools wheel in $root/versions" \
	     "(pyenv install 3.11)"
	exit 0
fi
if [ -z "$WHEELWHL" ]; then
	echo "  skipped: no /usr/share/python-wheels/wheel-*.whl (apt-get install python3-wheel-whl)"
	exit 0
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/envmatrix-bench-build.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/fl" "$W/src" "$W/out"
cp "$ST" "$WHEELWHL" "$W/fl/"
echo "  $PY, find-links: $(cd "$W/fl" && echo *)"

# mk_sdist VERSION: $W/benchpkg-VERSION.tar.gz
mk_sdist() {
	d="$W/src/benchpkg-$1"
	mkdir -p "$d/src/benchpkg"
	cat >"$d/pyproject.toml" <<EOF
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "benchpkg"
version = "$1"
description = "a small pure-Python package for envmatrix's build benchmark"
requires-python = ">=3.8"
EOF
	printf 'benchpkg, for the build benchmark\n' >"$d/README.md"
	printf '__version__ = "%s"\n' "$1" >"$d/src/benchpkg/__init__.py"
	i=1
	while [ $i -le 20 ]; do
		printf 'def f%d(x):\n    return x + %d\n\n\nVALUE = f%d(%d)\n' $i $i $i $i >"$d/src/benchpkg/m$i.py"
		i=$((i + 1))
	done
	(cd "$W/src" && tar czf "$W/benchpkg-$1.tar.gz" "benchpkg-$1")
}

# timed OUT CMD...: wall seconds into OUT (appended)
timed() {
	out=$1
	shift
	/usr/bin/time -f '%e' -o "$W/time" "$@" >"$W/last.log" 2>&1 || return 1
	cat "$W/time" >>"$out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fail() {
	echo "  $1 failed: $(tail -n 5 "$W/last.log")"
	exit 1
}

# a venv with setuptools and wheel for (e), installed offline by pip
if "$PY" -m venv "$W/nbi" >"$W/last.log" 2>&1 &&
	"$W/nbi/bin/python" -m pip install -q --no-index --find-links "$W/fl" setuptools wheel \
		>"$W/last.log" 2>&1; then
	nbi=yes
else
	nbi="no ($(tail -n 1 "$W/last.log"))"
fi

for t in pip cold env cached nbi; do
	: >"$W/t.$t"
done
r=1
while [ $r -le "$ROUNDS" ]; do
	mk_sdist "1.$r.0"
	mk_sdist "1.$r.1"
	mk_sdist "1.$r.2"
	sd=$W/benchpkg-1.$r.0.tar.gz
	# (a) pip, isolated, its cache empty
	timed "$W/t.pip" env PIP_CACHE_DIR="$W/pipcache-$r" "$PY" -m pip wheel -q --no-deps \
		--disable-pip-version-check --no-index --find-links "$W/fl" -w "$W/out/pip-$r" "$sd" ||
		fail "(a) pip wheel"
	# (b) envmatrix, empty cache
	timed "$W/t.cold" env ENVMATRIX_CACHE_DIR="$W/cache-$r" "$EM" -q build --no-index \
		--find-links "$W/fl" --python "$PY" -o "$W/out/em-$r" "$sd" || fail "(b) envmatrix build"
	# (c) another sdist, the build environment cached
	timed "$W/t.env" env ENVMATRIX_CACHE_DIR="$W/cache-$r" "$EM" -q build --no-index \
		--find-links "$W/fl" --python "$PY" -o "$W/out/em-$r" "$W/benchpkg-1.$r.1.tar.gz" ||
		fail "(c) envmatrix build"
	# (d) the same sdist again: from the cache
	timed "$W/t.cached" env ENVMATRIX_CACHE_DIR="$W/cache-$r" "$EM" -q build --no-index \
		--find-links "$W/fl" --python "$PY" -o "$W/out/em-$r" "$sd" || fail "(d) envmatrix build"
	# (e) pip without isolation
	if [ "$nbi" = yes ]; then
		timed "$W/t.nbi" env PIP_CACHE_DIR="$W/pipcache-$r" "$W/nbi/bin/python" -m pip wheel -q \
			--no-deps --disable-pip-version-check --no-build-isolation --no-index \
			-w "$W/out/nbi-$r" "$W/benchpkg-1.$r.2.tar.gz" || fail "(e) pip wheel --no-build-isolation"
	fi
	r=$((r + 1))
done
for f in "$W/out/pip-1/benchpkg-1.1.0-py3-none-any.whl" "$W/out/em-1/benchpkg-1.1.0-py3-none-any.whl"; do
	[ -f "$f" ] || { echo "  no wheel '$f'"; exit 1; }
done

tp=$(median <"$W/t.pip")
ratio() { echo "$1 $tp" | awk '{ printf "%.2fx", $1 / $2 }'; }
line() { # WHAT SECONDS
	printf '  %-58s %6.2f s  %s (a)\n' "$1" "$2" "$(ratio "$2")"
}
printf '  (a) %-54s %6.2f s  (median of %d, the baseline)\n' \
	"pip $("$PY" -m pip --version | cut -d' ' -f2) wheel --no-deps, isolated" "$tp" "$ROUNDS"
line "(b) envmatrix build, empty cache (build env made)" "$(median <"$W/t.cold")"
line "(c) envmatrix build, another sdist, build env cached" "$(median <"$W/t.env")"
line "(d) envmatrix build, the same sdist again (cached wheel)" "$(median <"$W/t.cached")"
if [ "$nbi" = yes ]; then
	line "(e) pip wheel --no-deps --no-build-isolation" "$(median <"$W/t.nbi")"
else
	echo "  (e) pip wheel --no-build-isolation: skipped, no venv with setuptools and wheel: $nbi"
fi
