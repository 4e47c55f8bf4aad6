# tests/cli/lib.sh - sourced by the black-box CLI tests
#
# Each check prints "ok N - what" or "not ok N - what" (with details), or
# "skip N - what: why" when it cannot run on this machine (a skip is never
# a pass: tests/run.sh counts and prints it), and t_done exits non-zero
# when anything failed. $EM is the binary under test.
: "${EM:?EM must name the envmatrix binary}"
t_n=0
t_failed=0
t_skipped=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/envmatrix-cli.XXXXXX") || exit 1
trap 'rm -rf "$T_TMP"' EXIT INT TERM
# downloads and pages go to a cache of the test's own, not the user's
export ENVMATRIX_CACHE_DIR="${ENVMATRIX_CACHE_DIR:-$T_TMP/cache}"
# the NVIDIA driver and GPUs come from an empty recorded host, so tests
# plan the same on a machine with a GPU (tests that replay one set it)
mkdir -p "$T_TMP/no-gpu"
export ENVMATRIX_SYSROOT="$T_TMP/no-gpu"
unset ENVMATRIX_NVIDIA_SMI ENVMATRIX_CUDA_DRIVER

t_pass() {
	t_n=$((t_n + 1))
	echo "ok $t_n - $1"
}

t_fail() {
	t_n=$((t_n + 1))
	t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	for line in "$@"; do
		printf '#   %s\n' "$line"
	done
}

# t_run CMD...: run, keeping stdout in $T_OUT, stderr in $T_ERR, status in $T_RC
t_run() {
	"$@" >"$T_TMP/stdout" 2>"$T_TMP/stderr"
	T_RC=$?
	T_OUT=$(cat "$T_TMP/stdout")
	T_ERR=$(cat "$T_TMP/stderr")
}

# t_expect WHAT RC EXPECTED_STDOUT -- CMD...
t_expect() {
	what=$1 rc=$2 want=$3
	shift 4
	t_run "$@"
	if [ "$T_RC" = "$rc" ] && [ "$T_OUT" = "$want" ]; then
		t_pass "$what"
	else
		t_fail "$what" "command: $*" "exit $T_RC (want $rc)" "stdout: $T_OUT" "want:   $want" "stderr: $T_ERR"
	fi
}

# t_expect_err WHAT RC PATTERN -- CMD...: exit status and a grep pattern on stderr
t_expect_err() {
	what=$1 rc=$2 pat=$3
	shift 4
	t_run "$@"
	if [ "$T_RC" = "$rc" ] && printf '%s\n' "$T_ERR" | grep -q -- "$pat"; then
		t_pass "$what"
	else
		t_fail "$what" "command: $*" "exit $T_RC (want $rc)" "stderr: $T_ERR" "want pattern: $pat"
	fi
}

# t_skip WHAT WHY: a check that cannot run here (a tool or an interpreter
# is missing); WHY says what is missing and how to get it
t_skip() {
	t_n=$((t_n + 1))
	t_skipped=$((t_skipped + 1))
	echo "skip $t_n - $1: $2"
}

# t_need_cpython: PY1 and V1 become the path and version of the first
# CPython 3 that 'envmatrix python list' shows; without one, every check of
# the test is one counted skip and the test ends
t_need_cpython() {
	PY1='' V1=''
	while read -r _ver _impl _src _path; do
		case $_ver in *t) continue ;; esac
		[ "$_impl" = cpython ] || continue
		[ -z "$PY1" ] && PY1=$_path V1=$_ver
	done <<EOF
$("$EM" python list 2>/dev/null)
EOF
	if [ -z "$PY1" ]; then
		t_skip "every check" "no CPython 3 interpreter (apt-get install python3)"
		t_done
		exit 0
	fi
}

t_done() {
	echo "# $t_n checks, $t_failed failed, $t_skipped skipped"
	[ "$t_failed" -eq 0 ]
}
