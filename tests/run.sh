#!/bin/sh
# tests/run.sh - run every test layer and end with "N passed, N failed, N
# skipped"; each skip is printed as "SKIP name: what: why"
#
#   unit tests   $BUILD/tests/test_*      (cmocka; counts its own tests)
#   CLI tests    tests/cli/test_*.sh      (black-box; "ok"/"not ok"/"skip"
#                                          lines)
#   layer rules  mk/check-layers.sh       (nm on the library's objects;
#                                          one line a rule)
#   fuzz smoke   $FUZZ_DIR/fuzz_*         (a few seconds each, when clang
#                                          with libFuzzer is installed)
# Environment: BUILD (default build), FUZZ_DIR ($BUILD/fuzz), FUZZ_CC,
# FUZZ_SMOKE_SECONDS (5),
# TESTS (a pattern: run only tests whose file name contains it).
set -u
BUILD=${BUILD:-build}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-5}
TESTS=${TESTS:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
skipped=0
failures=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/envmatrix-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

selected() {
	[ -z "$TESTS" ] && return 0
	case "$1" in *"$TESTS"*) return 0 ;; esac
	return 1
}

note_failure() {
	failures="$failures
  $1"
}

# ---- unit tests ----
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	selected "$name" || continue
	"$t" >"$tmp/out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$tmp/out" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$tmp/out" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	skipped=$((skipped + s))
	# cmocka counts a skipped test in "[  SKIPPED ] N test(s)", never in
	# "[  PASSED  ]"; each says why on a "SKIP: why" line before skip():
	# "SKIP binary: test: why"
	awk -v bin="$name" '
		/^\[ RUN      \] / { test = substr($0, 14); why = "" }
		/^SKIP: / { why = substr($0, 7) }
		/^\[  SKIPPED \] / && test != "" && substr($0, 14) == test {
			print "SKIP " bin ": " test ": " (why != "" ? why : "(the test printed no reason)")
			test = ""
		}' "$tmp/out"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer report after the summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		cat "$tmp/out"
		note_failure "$name (exit $rc)"
		echo "FAIL $name: $p passed, $f failed"
	else
		echo "PASS $name: $p passed, $s skipped"
	fi
done

# count_tap NAME RC: count $tmp/out's "ok", "not ok" and "skip" lines (a
# non-zero RC without a "not ok" is one failure)
count_tap() {
	p=$(grep -c '^ok ' "$tmp/out")
	f=$(grep -c '^not ok ' "$tmp/out")
	s=$(grep -c '^skip ' "$tmp/out")
	skipped=$((skipped + s))
	sed -n 's/^skip [0-9]* - \(.*\)/SKIP '"$1"': \1/p' "$tmp/out"
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		cat "$tmp/out"
		note_failure "$1 (exit $2)"
		echo "FAIL $1: $p passed, $f failed"
	else
		echo "PASS $1: $p passed, $s skipped"
	fi
}

# ---- CLI tests ----
EM="$top/$BUILD/envmatrix"
MKINDEX="$top/$BUILD/tools/mkindex"
export EM MKINDEX
for s in tests/cli/test_*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	selected "$name" || continue
	sh "$s" >"$tmp/out" 2>&1
	count_tap "$name" $?
done

# ---- layer rules (mk/check-layers.sh: nm on the objects; one line a rule) ----
if selected check-layers; then
	sh mk/check-layers.sh "$BUILD" >"$tmp/out" 2>&1
	count_tap check-layers $?
fi

# ---- fuzz smoke runs ----
if [ -n "${FUZZ_CC:-}" ]; then
	for f in "${FUZZ_DIR:-$BUILD/fuzz}"/fuzz_*; do
		[ -x "$f" ] || continue
		case "$f" in *.d|*.o) continue ;; esac
		name=$(basename "$f")
		selected "$name" || continue
		if sh tests/fuzz/run.sh "$f" "$FUZZ_SMOKE_SECONDS" >"$tmp/out" 2>&1; then
			passed=$((passed + 1))
			echo "PASS $name: ${FUZZ_SMOKE_SECONDS}s without a finding"
		else
			failed=$((failed + 1))
			tail -n 60 "$tmp/out"
			note_failure "$name"
			echo "FAIL $name"
		fi
	done
elif selected fuzz_; then
	skipped=$((skipped + 1))
	echo "SKIP fuzz smoke runs: clang with libFuzzer is not installed (apt-get install clang libclang-rt-dev)"
fi

if [ "$failed" -ne 0 ]; then
	echo "failed:$failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
