#!/bin/sh
# test_answers.sh - answers that must be right: doctor exits 4 and says why
# when apply would fail (a missing python-home, a Python nothing here or in
# the named download source provides, a missing requirements file); apply
# --json says "snapshot": null when it made none; a workload named twice is
# a usage error in every command that takes workloads; verify works in a
# read-only project (a read-only bind mount: needs root and mount).
#
# Needs a CPython 3 on the machine.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
unset ENVMATRIX_HISTORY ENVMATRIX_PYTHON_MIRROR
export HOME="$T_TMP/home" XDG_CONFIG_HOME="$T_TMP/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
"$MKINDEX" "$top/tests/indexes/history.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }
V1=
while read -r ver impl src path; do
	case $ver in *t) continue ;; 3.*) ;; *) continue ;; esac
	[ "$impl" = cpython ] && { V1=$ver; break; }
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$V1" ]; then
	t_fail "a CPython 3 interpreter is needed (apt-get install python3)"
	t_done
	exit 1
fi
jsonq() {
	python3 -c 'import json,sys; j=json.load(sys.stdin); print('"$1"')'
}

# ---- item 8: doctor says "cannot run" (exit 4) where apply would fail ----
D="$T_TMP/doc"
mkdir -p "$D/mirror"
: >"$D/mirror/SHA256SUMS"
doc_matrix() { # EXTRA-WORKLOAD-LINES
	cat >"$D/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
python-mirror = mirror

[a]
path = a
python = $V1
packages = alpha==1.0
$1
EOF
}
doc_matrix ""
t_run sh -c "cd '$D' && '$EM' doctor"
[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "a: can run" &&
	t_pass "doctor: a workload apply can build can run (exit 0)" ||
	t_fail "doctor: can run" "exit $T_RC" "$T_OUT" "$T_ERR"

doc_matrix "python-home = no-such-python"
t_run sh -c "cd '$D' && '$EM' doctor"
[ "$T_RC" = 4 ] &&
	printf '%s\n' "$T_OUT" | grep -q "a: cannot run: python-home, matrix.ini:9: .*no-such-python" &&
	t_pass "doctor: a missing python-home cannot run (exit 4)" ||
	t_fail "doctor: missing python-home" "exit $T_RC" "$T_OUT" "$T_ERR"
t_run sh -c "cd '$D' && '$EM' apply --dry-run >/dev/null 2>&1; '$EM' apply"
[ "$T_RC" != 0 ] && t_pass "(and apply fails there)" || t_fail "apply fails with a missing python-home"
rm -rf "$D/a"

doc_matrix ""
sed -i "s/^python = $V1\$/python = 3.99.1/" "$D/matrix.ini"
t_run sh -c "cd '$D' && '$EM' doctor"
[ "$T_RC" = 4 ] &&
	printf '%s\n' "$T_OUT" | grep -q "a: cannot run: .*no such interpreter on this machine, and the catalogue at 'mirror' has no Python 3.99.1 build" &&
	t_pass "doctor: a Python neither here nor in the python-mirror cannot run (exit 4)" ||
	t_fail "doctor: unavailable python" "exit $T_RC" "$T_OUT" "$T_ERR"

doc_matrix "requirements = requirements-missing.txt"
t_run sh -c "cd '$D' && '$EM' doctor"
[ "$T_RC" = 4 ] &&
	printf '%s\n' "$T_OUT" | grep -q "a: cannot run: requirements, matrix.ini:9: '.*requirements-missing.txt' does not exist" &&
	t_pass "doctor: a missing requirements file cannot run (exit 4)" ||
	t_fail "doctor: missing requirements" "exit $T_RC" "$T_OUT" "$T_ERR"
printf 'alpha==1.0\n' >"$D/requirements-missing.txt"
t_run sh -c "cd '$D' && '$EM' doctor"
[ "$T_RC" = 0 ] && t_pass "doctor: with the file there it can run" ||
	t_fail "doctor: requirements present" "exit $T_RC" "$T_OUT" "$T_ERR"

# ---- item 10: apply --json "snapshot": null when none was made ----
M="$T_TMP/m"
mkdir -p "$M"
write_matrix() { # ALPHA
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple

[a]
path = a
python = $V1
packages = alpha==$1

[b]
path = b
python = $V1
packages = alpha==1.0
EOF
}
write_matrix 1.0
t_run "$EM" apply --json --no-verify -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | jsonq 'j["workloads"][0]["snapshot"]')" = None ] &&
	t_pass "apply --json: a new environment has \"snapshot\": null" ||
	t_fail "snapshot null for a new venv" "exit $T_RC" "$T_OUT" "$T_ERR"
t_run "$EM" apply --json --no-verify -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | jsonq 'j["workloads"][0]["outcome"], j["workloads"][0]["snapshot"]')" = "unchanged None" ] &&
	t_pass "apply --json: an unchanged environment has \"snapshot\": null" ||
	t_fail "snapshot null when unchanged" "exit $T_RC" "$T_OUT" "$T_ERR"
write_matrix 2.0
t_run "$EM" apply --json --no-verify -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | jsonq 'j["workloads"][0]["snapshot"]')" = "$M/a/.venv-original" ] &&
	[ -d "$M/a/.venv-original" ] &&
	t_pass "apply --json: a replaced environment names its snapshot" ||
	t_fail "snapshot named when made" "exit $T_RC" "$T_OUT" "$T_ERR"

# ---- item 10: a workload named twice is a usage error ----
for cmd in rollback apply plan status verify; do
	t_expect_err "$cmd a a is refused, naming the workload" 2 "workload 'a' is named twice" -- \
		"$EM" $cmd -f "$M/matrix.ini" a a
done
t_expect_err "mirror --workload a --workload a is refused" 2 "workload 'a' is named twice" -- \
	"$EM" mirror -f "$M/matrix.ini" --workload a --workload a "$T_TMP/mirror"
[ -d "$M/a/.venv" ] && [ -d "$M/a/.venv-original" ] && t_pass "rollback a a swapped nothing" ||
	t_fail "rollback a a swapped nothing"

# ---- item 10: verify in a read-only project ----
t_run "$EM" apply --no-verify -f "$M/matrix.ini" b
if [ "$(id -u)" != 0 ] || ! command -v mount >/dev/null; then
	t_skip "verify in a read-only project" "needs root and mount for a read-only bind mount"
elif ! mount --bind "$M" "$M" 2>/dev/null; then
	t_skip "verify in a read-only project" "mount --bind is not permitted here"
elif ! mount -o remount,ro,bind "$M" 2>/dev/null; then
	umount "$M"
	t_skip "verify in a read-only project" "a bind mount cannot be made read-only here"
else
	if touch "$M/probe" 2>/dev/null; then
		t_fail "the project is read-only"
	else
		t_run "$EM" verify -f "$M/matrix.ini"
		[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q 'workload a:' &&
			printf '%s\n' "$T_OUT" | grep -q 'workload b:' &&
			t_pass "verify works in a read-only project" ||
			t_fail "verify in a read-only project" "exit $T_RC" "$T_OUT" "$T_ERR"
		t_run "$EM" verify --json -f "$M/matrix.ini" b
		[ "$T_RC" = 0 ] && t_pass "verify --json works in a read-only project" ||
			t_fail "verify --json read-only" "exit $T_RC" "$T_OUT" "$T_ERR"
	fi
	umount "$M"
fi
# and where the state folder was never made (no apply lock to open)
mv "$M/.envmatrix" "$T_TMP/state.aside"
if [ "$(id -u)" = 0 ] && mount --bind "$M" "$M" 2>/dev/null; then
	if mount -o remount,ro,bind "$M" 2>/dev/null; then
		t_run "$EM" verify -f "$M/matrix.ini" b
		[ "$T_RC" = 0 ] && [ ! -e "$M/.envmatrix" ] &&
			t_pass "verify works in a read-only project without .envmatrix" ||
			t_fail "verify without .envmatrix, read-only" "exit $T_RC" "$T_OUT" "$T_ERR"
	else
		t_skip "verify without .envmatrix, read-only" "a bind mount cannot be made read-only here"
	fi
	umount "$M"
else
	t_skip "verify without .envmatrix, read-only" "needs root and mount --bind"
fi
mv "$T_TMP/state.aside" "$M/.envmatrix"

t_done
