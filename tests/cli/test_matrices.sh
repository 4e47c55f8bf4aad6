#!/bin/sh
# test_matrices.sh - several matrix files in one folder (docs/matrix.md,
# "Several matrices in one folder"): the shipped rtx3090-linux.ini and
# rtx3090-windows.ini, which name the same workloads, plan side by side
# into their own locks and apply --frozen builds each matrix's own lock;
# two small matrices applied for real keep their own venvs' locks and
# their own histories; a lock recorded for another matrix is refused by
# plan, apply --frozen, status, diff and mirror; matrix.ini and a matrix
# alone in its folder keep pylock.<workload>.toml and .envmatrix/history.git.
#
# Needs python3 (a CPython 3 the machine has) for the real applies.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
unset ENVMATRIX_HISTORY
export HOME="$T_TMP/home" XDG_CONFIG_HOME="$T_TMP/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
"$MKINDEX" "$top/tests/indexes/pytorch.spec" "$IDX" >/dev/null &&
	"$MKINDEX" "$top/tests/indexes/pypi.spec" "$IDX" >/dev/null &&
	"$MKINDEX" "$top/tests/indexes/history.spec" "$IDX/h" >/dev/null ||
	{ t_fail "build the test indexes"; t_done; exit 1; }

# count_packages LOCK: the number of packages the lock pins
count_packages() {
	"$EM" debug lock "$1" | grep -c '^package	'
}

# ---- the shipped Linux and Windows matrices in one folder ----
D="$T_TMP/rtx"
mkdir -p "$D"
for n in linux windows; do
	sed -e "s|^index-url = .*|index-url = $IDX/pypi\nfind-links = $IDX/wheels|" \
		-e "s|^torch-index-url = .*|torch-index-url = $IDX/torch|" \
		"$top/matrices/rtx3090-$n.ini" >"$D/$n.ini"
done
t_expect "plan -f linux.ini" 0 "" -- sh -c "cd '$D' && '$EM' plan -f linux.ini >/dev/null"
t_expect "plan -f windows.ini" 0 "" -- sh -c "cd '$D' && '$EM' plan -f windows.ini >/dev/null"
ok=true
for w in vlm asr tts lvface; do
	[ -f "$D/pylock.linux-$w.toml" ] && [ -f "$D/pylock.windows-$w.toml" ] || ok=false
	grep -q '^matrix = "linux.ini"$' "$D/pylock.linux-$w.toml" 2>/dev/null || ok=false
	grep -q '^matrix = "windows.ini"$' "$D/pylock.windows-$w.toml" 2>/dev/null || ok=false
done
$ok && t_pass "each matrix has its own locks, each naming its matrix" ||
	t_fail "each matrix has its own locks" "$(ls "$D")"
[ ! -e "$D/pylock.vlm.toml" ] && t_pass "no pylock.vlm.toml is shared" ||
	t_fail "no pylock.vlm.toml is shared" "$(ls "$D")"
grep -q manylinux "$D/pylock.linux-vlm.toml" 2>/dev/null &&
	grep -q win_amd64 "$D/pylock.windows-vlm.toml" 2>/dev/null &&
	t_pass "the linux lock holds linux wheels, the windows lock windows wheels" ||
	t_fail "linux and windows wheels"
t_expect "every lock is PEP 751 (pylock.NAME.toml, a name without dots)" 0 "" -- sh -c \
	"cd '$D' && for f in pylock.*.toml; do case \$f in pylock.*.*.toml) exit 1;; esac; '$EM' debug lock \"\$f\" >/dev/null || exit 1; done"
t_expect "re-planning linux.ini changes nothing" 0 "" -- sh -c \
	"cd '$D' && '$EM' plan --check -f linux.ini >/dev/null && '$EM' plan --check -f windows.ini >/dev/null"

# apply --frozen reads the linux lock (a real build needs the locked
# Python 3.12.10 and CUDA wheels, so --dry-run shows what it would build)
nl=$(count_packages "$D/pylock.linux-vlm.toml")
nw=$(count_packages "$D/pylock.windows-vlm.toml")
t_run sh -c "cd '$D' && '$EM' apply --frozen --dry-run -f linux.ini vlm"
if [ "$T_RC" = 0 ] && [ "$nl" != "$nw" ] &&
	printf '%s\n' "$T_OUT" | grep -q "^vlm  *would build .*2\.8\.0+cu126  *cu126  *$nl  "; then
	t_pass "apply --frozen -f linux.ini builds the linux lock ($nl packages, not $nw)"
else
	t_fail "apply --frozen -f linux.ini builds the linux lock" "linux $nl, windows $nw" \
		"exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run sh -c "cd '$D' && '$EM' apply --frozen --dry-run --json -f windows.ini vlm"
[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "\"packages\": $nw\b" &&
	t_pass "apply --frozen -f windows.ini builds the windows lock" ||
	t_fail "apply --frozen -f windows.ini" "exit $T_RC" "$T_OUT" "$T_ERR"

# ---- a lock recorded for another matrix is refused everywhere ----
cp "$D/pylock.linux-asr.toml" "$T_TMP/asr.linux"
cp "$D/pylock.windows-asr.toml" "$D/pylock.linux-asr.toml"
t_expect_err "apply --frozen refuses another matrix's lock, naming both" 1 \
	"pylock.linux-asr.toml: this lock was planned from the matrix 'windows.ini', not 'linux.ini'" -- \
	sh -c "cd '$D' && '$EM' apply --frozen --dry-run -f linux.ini asr"
t_expect_err "plan neither uses nor replaces it" 1 "planned from the matrix 'windows.ini', not 'linux.ini'" -- \
	sh -c "cd '$D' && '$EM' plan -f linux.ini asr"
cmp -s "$D/pylock.linux-asr.toml" "$D/pylock.windows-asr.toml" && t_pass "the lock is left as it was" ||
	t_fail "the lock is left as it was"
t_expect_err "status refuses it" 1 "planned from the matrix 'windows.ini'" -- \
	sh -c "cd '$D' && '$EM' status -f linux.ini asr"
t_expect_err "diff refuses it" 1 "planned from the matrix 'windows.ini'" -- \
	sh -c "cd '$D' && '$EM' diff -f linux.ini asr current current"
t_expect_err "mirror refuses it" 1 "planned from the matrix 'windows.ini'" -- \
	sh -c "cd '$D' && '$EM' mirror -f linux.ini --workload asr '$T_TMP/mirror'"
cp "$T_TMP/asr.linux" "$D/pylock.linux-asr.toml"

# ---- matrix.ini keeps pylock.<workload>.toml; the other gets a prefix ----
E="$T_TMP/default"
mkdir -p "$E"
cp "$D/linux.ini" "$E/matrix.ini"
sed 's/^name = .*/name = other/' "$D/linux.ini" >"$E/other.ini"
t_expect "plan matrix.ini and other.ini" 0 "" -- sh -c \
	"cd '$E' && '$EM' plan asr >/dev/null && '$EM' plan -f other.ini asr >/dev/null"
[ -f "$E/pylock.asr.toml" ] && [ -f "$E/pylock.other-asr.toml" ] &&
	grep -q '^matrix = "matrix.ini"$' "$E/pylock.asr.toml" &&
	t_pass "matrix.ini: pylock.asr.toml; other.ini: pylock.other-asr.toml" ||
	t_fail "matrix.ini and other.ini lock names" "$(ls "$E")"

# a matrix alone (beside ini files without its workloads) keeps the plain name
S="$T_TMP/solo"
mkdir -p "$S"
cp "$D/linux.ini" "$S/rtx.ini"
printf '[pytest]\naddopts = -q\n' >"$S/pytest.ini"
t_expect "plan a lone rtx.ini" 0 "" -- sh -c "cd '$S' && '$EM' plan -f rtx.ini asr >/dev/null"
[ -f "$S/pylock.asr.toml" ] && t_pass "a matrix alone in its folder keeps pylock.asr.toml" ||
	t_fail "a lone matrix keeps pylock.asr.toml" "$(ls "$S")"

# ---- two small matrices applied for real: venvs and histories apart ----
V1=
while read -r ver impl src path; do
	case $ver in *t) continue ;; 3.*) ;; *) continue ;; esac
	[ "$impl" = cpython ] && { V1=$ver; break; }
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$V1" ]; then
	t_skip "real applies of two matrices" "no CPython 3 here (apt-get install python3)"
	t_done
	exit $?
fi
command -v git >/dev/null || { t_fail "git is needed (apt-get install git)"; t_done; exit 1; }
M="$T_TMP/two"
mkdir -p "$M"
small() { # FILE VENV-PATH ALPHA
	cat >"$M/$1" <<EOF
[matrix]
index-url = $IDX/h/simple

[a]
path = $2
python = $V1
packages = alpha==$3
EOF
}
small one.ini p1 1.0
small two.ini p2 2.0
alpha_of() { # VENV
	ls -d "$1"/lib/python3*/site-packages/alpha-*.dist-info 2>/dev/null | sed 's/.*alpha-\(.*\)\.dist-info/\1/'
}
t_run "$EM" apply --no-verify -f "$M/one.ini"
[ "$T_RC" = 0 ] && t_pass "apply -f one.ini" || t_fail "apply -f one.ini" "$T_OUT" "$T_ERR"
t_run "$EM" apply --no-verify -f "$M/two.ini"
[ "$T_RC" = 0 ] && t_pass "apply -f two.ini" || t_fail "apply -f two.ini" "$T_OUT" "$T_ERR"
[ "$(alpha_of "$M/p1/.venv")" = 1.0 ] && [ "$(alpha_of "$M/p2/.venv")" = 2.0 ] &&
	t_pass "each matrix built its own alpha" ||
	t_fail "each matrix built its own alpha" "$(alpha_of "$M/p1/.venv") $(alpha_of "$M/p2/.venv")"
t_run "$EM" apply --no-verify --frozen --force -f "$M/one.ini"
[ "$T_RC" = 0 ] && [ "$(alpha_of "$M/p1/.venv")" = 1.0 ] &&
	cmp -s "$M/p1/.venv/pylock.toml" "$M/pylock.one-a.toml" &&
	t_pass "apply --frozen -f one.ini rebuilds one.ini's lock after two.ini was applied" ||
	t_fail "apply --frozen -f one.ini uses its own lock" "alpha $(alpha_of "$M/p1/.venv")" "$T_OUT" "$T_ERR"
t_expect "status -f one.ini: current" 0 "current" -- sh -c \
	"'$EM' status --json -f '$M/one.ini' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"workloads\"][0][\"state\"])'"
[ -d "$M/.envmatrix/one/history.git" ] && [ -d "$M/.envmatrix/two/history.git" ] &&
	[ ! -e "$M/.envmatrix/history.git" ] &&
	t_pass "two histories: .envmatrix/one/history.git and .envmatrix/two/history.git" ||
	t_fail "two histories" "$(find "$M/.envmatrix" -maxdepth 2)"
t_run "$EM" history -f "$M/one.ini" a
h1=$T_OUT
t_run "$EM" history -f "$M/two.ini" a
h2=$T_OUT
if [ "$(printf '%s\n' "$h1" | grep -c '^a  ')" = 2 ] && [ "$(printf '%s\n' "$h2" | grep -c '^a  ')" = 1 ]; then
	t_pass "each history holds only its matrix's generations (2 and 1)"
else
	t_fail "histories do not mix" "one: $h1" "two: $h2"
fi
git --git-dir="$M/.envmatrix/one/history.git" show main:matrix.ini 2>/dev/null | grep -q 'alpha==1.0' &&
	git --git-dir="$M/.envmatrix/two/history.git" show main:matrix.ini 2>/dev/null | grep -q 'alpha==2.0' &&
	t_pass "each history records its own matrix" || t_fail "each history records its own matrix"

t_done
