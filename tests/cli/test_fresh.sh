#!/bin/sh
# test_fresh.sh - the two commands on a fresh machine: a skip is counted
# and says why, never a pass (tests/run.sh with a real cmocka program, and
# every test's way of skipping); `make check` installs or names what the
# tests use (mk/test-deps.sh, against stand-in apt-get and npm), mk/deps.sh
# never assumes sudo and sees to python3-venv; README's `make run` sample
# matches make run and the commands after it run without a warning
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)

# ---- run.sh reads cmocka's real output: skipped tests are not passes ----
B="$T_TMP/build"
mkdir -p "$B/tests"
cat >"$T_TMP/skips.c" <<'EOF'
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
static void passes(void **s) { (void)s; }
static void passes_too(void **s) { (void)s; }
static void says_why(void **s) { (void)s; print_message("SKIP: no frobnicator here\n"); skip(); }
static void says_nothing(void **s) { (void)s; skip(); }
int main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(passes), cmocka_unit_test(says_why),
					cmocka_unit_test(passes_too), cmocka_unit_test(says_nothing) };
	return cmocka_run_group_tests(t, NULL, NULL);
}
EOF
# shellcheck disable=SC2046 # pkg-config's words
if cc -o "$B/tests/test_zz_skips" "$T_TMP/skips.c" $(pkg-config --cflags --libs cmocka) 2>"$T_TMP/cc.err"; then
	t_run env BUILD="$B" TESTS=test_zz_skips sh "$top/tests/run.sh"
	if [ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | tail -n 1)" = "2 passed, 0 failed, 2 skipped" ] &&
		printf '%s\n' "$T_OUT" | grep -qx "PASS test_zz_skips: 2 passed, 2 skipped"; then
		t_pass "a cmocka program with two skips: 2 passed, 0 failed, 2 skipped"
	else
		t_fail "cmocka skips are counted apart" "exit $T_RC" "$T_OUT"
	fi
	if printf '%s\n' "$T_OUT" | grep -qx "SKIP test_zz_skips: says_why: no frobnicator here" &&
		printf '%s\n' "$T_OUT" | grep -qx "SKIP test_zz_skips: says_nothing: (the test printed no reason)"; then
		t_pass "each skipped unit test is named with its reason on one line"
	else
		t_fail "skipped unit tests named" "$T_OUT"
	fi
else
	t_fail "a cmocka program builds" "$(cat "$T_TMP/cc.err")"
fi

# ---- lib.sh: t_skip is a counted skip line, not an ok line ----
t_run env EM="$EM" sh -c '. "$1/tests/cli/lib.sh"; t_pass one; t_skip "two" "no two here"; t_done' sh "$top"
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "ok 1 - one
skip 2 - two: no two here
# 2 checks, 0 failed, 1 skipped" ]; then
	t_pass "t_skip prints 'skip N - what: why' and t_done counts it"
else
	t_fail "t_skip" "exit $T_RC" "$T_OUT"
fi

# ---- no test reports a skip as a pass or a bare comment ----
bad=$(grep -n -i -E 't_pass "[^"]*(# skip|skipped:)|^[[:space:]]*echo "# [^"]*skip|^[[:space:]]*skip\(\) \{' \
	"$top"/tests/cli/test_*.sh | grep -v '/test_fresh\.sh:')
if [ -z "$bad" ]; then
	t_pass "every CLI test skips with t_skip"
else
	t_fail "skips reported as passes or comments" "$bad"
fi
# every cmocka skip() says why first
bad=$(awk 'FNR == 1 { why = 0 } /"SKIP: / { why = FNR }
	/skip\(\);/ && (why == 0 || FNR - why > 4) { print FILENAME ":" FNR }' "$top"/tests/unit/test_*.c)
if [ -z "$bad" ]; then
	t_pass "every unit test's skip() follows a 'SKIP: why' line"
else
	t_fail "skip() without a reason" "$bad"
fi

# ---- make check installs or names what the tests use ----
awk '/^check:/ { on = 1; next } on && /^[^\t]/ { on = 0 } on' "$top/Makefile" >"$T_TMP/check.rule"
if grep -q 'sh mk/test-deps.sh' "$T_TMP/check.rule"; then
	t_pass "make check runs mk/test-deps.sh before the tests"
else
	t_fail "make check runs mk/test-deps.sh" "$(cat "$T_TMP/check.rule")"
fi

# a machine with next to nothing: a PATH of a few commands and stand-ins
# for apt-get and npm, which write what they were asked to $T_TMP/calls
# (and whether policy-rc.d keeps services from starting during the
# install); the first install fails when $T_TMP/fail-once exists
P="$T_TMP/path"
mkdir -p "$P"
for c in sh dirname id ls cat timeout chmod rm; do
	ln -s "$(command -v "$c")" "$P/$c"
done
{
	echo '#!/bin/sh'
	echo 'PATH=/usr/bin:/bin'
	echo 'printf "apt-get %s\n" "$*" >>"$CALLS"'
	echo 'if [ "$1" = install ]; then'
	echo '	/usr/sbin/policy-rc.d >/dev/null 2>&1'
	echo '	echo "policy-rc.d $?" >>"$CALLS"'
	echo '	[ -e "$CALLS.fail-once" ] && rm -f "$CALLS.fail-once" && exit 100'
	echo 'fi'
	echo 'exit 0'
} >"$P/apt-get"
{
	echo '#!/bin/sh'
	echo 'printf "npm %s\n" "$*" >>"$CALLS"'
} >"$P/npm"
chmod 755 "$P/apt-get" "$P/npm"
CALLS="$T_TMP/calls"
export CALLS
# the scripts run from a copy of mk/, so the npm packages that make check
# may already have installed into this tree's build/npm are not there
MK_TREE="$T_TMP/tree"
mkdir -p "$MK_TREE/mk"
cp "$top/mk/test-deps.sh" "$top/mk/deps.sh" "$MK_TREE/mk/"
want="curl openssl util-linux bash dash zsh fish shellcheck zstd unzip git binutils clang libclang-rt-dev nodejs"
# all_named TEXT: every package of $want is a word of TEXT
all_named() {
	for p in $want; do
		case " $1 " in *" $p "*) ;; *) return 1 ;; esac
	done
}

t_run env PATH="$P" ENVMATRIX_NO_INSTALL=1 sh "$MK_TREE/mk/test-deps.sh"
line=$(printf '%s\n' "$T_OUT" | grep '^envmatrix: as root, run: apt-get install -y --no-install-recommends ')
if [ "$T_RC" = 0 ] && all_named "$line" && [ "$(printf '%s\n' "$T_OUT" | grep -c 'apt-get')" = 1 ] &&
	! printf '%s\n' "$T_OUT" "$T_ERR" | grep -q sudo && [ ! -e "$CALLS" ] &&
	printf '%s\n' "$T_OUT" | grep -q 'npm install --prefix build/npm .*tree-sitter-powershell@'; then
	t_pass "not installing: one command names everything missing, without sudo; exit 0"
else
	t_fail "test-deps names what is missing" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

if [ "$(id -u)" = 0 ]; then
	had_policy=no
	[ -e /usr/sbin/policy-rc.d ] && had_policy=yes
	t_run env -u ENVMATRIX_NO_INSTALL PATH="$P" sh "$MK_TREE/mk/test-deps.sh"
	n=$(grep -c '^apt-get install' "$CALLS" 2>/dev/null)
	if [ "$T_RC" = 0 ] && [ "$n" = 1 ] && all_named "$(grep '^apt-get install' "$CALLS")" &&
		! grep -q '^apt-get update' "$CALLS" && grep -qx 'policy-rc.d 101' "$CALLS" &&
		grep -q '^npm install --prefix build/npm .*web-tree-sitter@.* tree-sitter-powershell@' "$CALLS" &&
		{ [ $had_policy = yes ] || [ ! -e /usr/sbin/policy-rc.d ]; }; then
		t_pass "as root: one apt-get install of everything, services kept from starting, then npm"
	else
		t_fail "as root: one apt-get install" "exit $T_RC" "$(cat "$CALLS")" "$T_OUT"
	fi
	rm -f "$CALLS"
	touch "$CALLS.fail-once"
	t_run env -u ENVMATRIX_NO_INSTALL PATH="$P" sh "$MK_TREE/mk/test-deps.sh"
	if [ "$T_RC" = 0 ] &&
		[ "$(grep '^apt-get' "$CALLS" | cut -d' ' -f2 | tr '\n' ' ')" = "install update install " ]; then
		t_pass "as root: apt-get update only when the install fails, then the install again"
	else
		t_fail "apt-get update after a failed install" "$(cat "$CALLS")" "$T_OUT"
	fi
else
	t_skip "as root: one apt-get install of everything" "needs root"
	t_skip "as root: apt-get update only when the install fails" "needs root"
fi

# mk/deps.sh: missing build dependencies are named without sudo, with what
# the tests use when the goal is check
t_run env PKG_CONFIG_LIBDIR="$T_TMP/no-pc" ENVMATRIX_NO_INSTALL=1 sh "$top/mk/deps.sh" check
if [ "$T_RC" = 1 ] && ! printf '%s\n' "$T_ERR" | grep -q sudo &&
	printf '%s\n' "$T_ERR" | grep -q '^envmatrix: as root, run: apt-get install -y --no-install-recommends .*libgit2-dev.*libcmocka-dev'; then
	t_pass "mk/deps.sh names missing build dependencies with the command for root, no sudo"
else
	t_fail "mk/deps.sh's message" "exit $T_RC" "$T_ERR"
fi
# ... and names python3-venv when python3 -m venv cannot work (no ensurepip)
P2="$T_TMP/path2"
mkdir -p "$P2"
for c in sh dirname id ls cat cc pkg-config; do
	ln -s "$(command -v "$c")" "$P2/$c"
done
printf '#!/bin/sh\nexit 1\n' >"$P2/python3"
chmod 755 "$P2/python3"
t_run env PATH="$P2" ENVMATRIX_NO_INSTALL=1 sh "$top/mk/deps.sh"
if [ "$T_RC" = 0 ] &&
	printf '%s\n' "$T_ERR" | grep -q '^envmatrix: as root, run: apt-get install -y --no-install-recommends python3-venv'; then
	t_pass "mk/deps.sh names python3-venv when python3 has no ensurepip"
else
	t_fail "mk/deps.sh and python3-venv" "exit $T_RC" "$T_ERR"
fi

# ---- README: make run's sample output and the commands after it ----
# the sample, and make run's real output, as skeletons: numbers become N,
# the demo folder .../build/demo, runs of spaces one space
D="$T_TMP/demo"
t_run sh "$top/mk/demo.sh" "$EM" "$D"
skeleton() {
	sed -e "s|$D|.../build/demo|g" -e 's/[0-9][0-9.]*/N/g' -e 's/  */ /g'
}
sed -n '/^\$ make run /,/^\$ /p' "$top/README.md" | sed -e '1d' -e '$d' >"$T_TMP/readme.run"
printf '%s\n' "$T_OUT" | skeleton >"$T_TMP/real.skel"
skeleton <"$T_TMP/readme.run" >"$T_TMP/readme.skel"
if [ "$T_RC" = 0 ] && [ -s "$T_TMP/readme.run" ] && cmp -s "$T_TMP/readme.skel" "$T_TMP/real.skel"; then
	t_pass "README's make run sample has make run's lines and columns"
else
	t_fail "README's make run sample" "exit $T_RC" "$(diff "$T_TMP/readme.skel" "$T_TMP/real.skel")"
fi
# the package counts (legacy's depends on a setuptools wheel here)
counts() { awk '$2 == "built" { print $1, $6 }' "$1"; }
printf '%s\n' "$T_OUT" >"$T_TMP/real.run"
if ls "$D"/wheels/setuptools-*.whl >/dev/null 2>&1; then
	if [ "$(counts "$T_TMP/readme.run")" = "$(counts "$T_TMP/real.run")" ]; then
		t_pass "README's package counts are make run's"
	else
		t_fail "README's package counts" "$(counts "$T_TMP/readme.run")" "real: $(counts "$T_TMP/real.run")"
	fi
else
	t_skip "README's package counts are make run's" \
		"no setuptools wheel here, so legacy has one package less (apt-get install python3-setuptools-whl)"
fi
# the commands README gives after make run, as written, run in the demo
# copy: no error, no warning
sed -n '/^\$ make run /,/^```/p' "$top/README.md" | sed -n 's/^\$ \([^#]*\).*/\1/p' | sed '1d' >"$T_TMP/cmds"
if [ "$(wc -l <"$T_TMP/cmds")" -ge 2 ]; then
	cmds=$(sed "s|cd build/demo|cd '$D'|; s|\.\./envmatrix|'$EM'|g" "$T_TMP/cmds")
	t_run sh -c "$(printf '%s\n' "$cmds" | sed 's/ *$/ \&\&/') true"
	if [ "$T_RC" = 0 ] && ! printf '%s\n' "$T_ERR" | grep -q -i 'warning\|error'; then
		t_pass "README's commands after make run work without a warning"
	else
		t_fail "README's commands after make run" "$cmds" "exit $T_RC" "$T_ERR"
	fi
else
	t_fail "README's commands after make run" "not found: $(cat "$T_TMP/cmds")"
fi
# README's verify --venv example starts with python3 -m venv
if python3 -m venv "$T_TMP/pv" >"$T_TMP/venv.out" 2>&1 && "$T_TMP/pv/bin/python" -m pip --version >/dev/null 2>&1; then
	t_pass "python3 -m venv makes a venv with pip (README's verify --venv example)"
elif [ "$(id -u)" = 0 ]; then
	t_fail "python3 -m venv works (mk/deps.sh installs python3-venv)" "$(tail -3 "$T_TMP/venv.out")"
else
	t_skip "python3 -m venv makes a venv with pip" "python3-venv is not installed (apt-get install python3-venv)"
fi

t_done
