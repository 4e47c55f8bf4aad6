#!/bin/sh
# test_fresh.sh - the two commands on a fresh machine: a skip is counted
# and says why, never a pass (tests/run.sh with a real cmocka program, and
# every test's way of skipping); `make check` installs or names what the
# tests use (mk/test-deps.sh), and mk/deps.sh never assumes sudo
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

t_done
