#!/bin/sh
# test_safety.sh - what apply and rollback must never lose (docs/safety.md)
#
#   1. a <venv>-original that envmatrix did not make is kept under a free
#      name (<venv>-original.1, ...), said on stderr and shown by status;
#      apply -> rollback -> apply sequences never delete a user's folder
#   2. a target that is not a Python environment (a folder without
#      pyvenv.cfg, a file, a link to either) is refused, nothing moved; an
#      empty folder is used; rollback never puts a non-environment in place
#   3. the state folder (.envmatrix) and the history repository are
#      reserved: a venv or path there is a matrix error with file:line
#   4. environment folders are compared by identity (symlinks, '..',
#      absolute paths), and against the snapshot and staging names
#
# The apply checks need a CPython (python3) with the venv module; the matrix
# checks need nothing.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $EM in /*) ;; *) EM=$(pwd)/$EM ;; esac
IDX="$T_TMP/idx"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"

# ---- 3 and 4: the matrix checks (no interpreter needed) ----
P="$(cd "$T_TMP" && pwd -P)/proj"
mkdir -p "$P"
mx() { # write $P/matrix.ini from stdin
	cat >"$P/matrix.ini"
}
# expect_matrix_error WHAT PATTERN: plan, status and rollback all refuse
expect_matrix_error() {
	for cmd in plan status; do
		t_expect_err "$1 ($cmd)" 1 "$2" -- "$EM" $cmd -f "$P/matrix.ini"
	done
}

mx <<EOF
[matrix]
python = 3.11

[a]
venv = .envmatrix
EOF
expect_matrix_error "venv = .envmatrix is reserved" \
	"matrix.ini:5: workload \[a\]: its environment folder '$P/.envmatrix' is the state folder"
t_expect_err "rollback reads the same check" 1 "matrix.ini:5: .*is the state folder" -- \
	"$EM" rollback -f "$P/matrix.ini" a

mx <<EOF
[a]
python = 3.11
path = .envmatrix/x
EOF
expect_matrix_error "a path inside .envmatrix is reserved" \
	"matrix.ini:3: workload \[a\]: its environment folder '$P/.envmatrix/x/.venv' is inside the state folder"

mkdir -p "$T_TMP/outer"
mx <<EOF
[a]
python = 3.11
path = ..
venv = proj
EOF
expect_matrix_error "a venv containing the matrix's folder (and .envmatrix) is reserved" \
	"matrix.ini:4: workload \[a\]: its environment folder '$P' contains the state folder"

mx <<EOF
[matrix]
history = envs/hist

[a]
python = 3.11
venv = envs
EOF
expect_matrix_error "a venv containing the history repository is reserved" \
	"matrix.ini:6: workload \[a\]: its environment folder '$P/envs' contains the history repository '$P/envs/hist'"

mx <<EOF
[a]
python = 3.11
venv = h
EOF
ENVMATRIX_HISTORY="$P/h-original" t_expect_err "a snapshot name that is the history (ENVMATRIX_HISTORY) is reserved" 1 \
	"matrix.ini:3: workload \[a\]: its snapshot folder '$P/h-original' is the history repository" -- \
	"$EM" status -f "$P/matrix.ini"
ENVMATRIX_HISTORY=off t_expect "with the history off, the same matrix is fine" 0 \
	"$(printf '%-12s %-11s %-9s %-14s %-7s %-8s %-9s  %s' workload state python torch variant snapshot verified venv)
$(printf '%-12s %-11s %-9s %-14s %-7s %-8s %-9s  %s' a missing - - - no - "$P/h")" -- \
	"$EM" status -f "$P/matrix.ini"

# 4: the same folder by another name
mkdir -p "$P/p"
ln -s p "$P/plink"
mx <<EOF
[a]
python = 3.11
path = p

[b]
python = 3.11
path = plink
EOF
expect_matrix_error "path = p and path = plink (a symlink to p) share a folder" \
	"matrix.ini:7: workloads \[a\] (line 3) and \[b\] (line 7) share the environment folder '$P/p/.venv' under two names"

mx <<EOF
[a]
python = 3.11
path = p

[b]
python = 3.11
path = $P/p
EOF
expect_matrix_error "a relative and an absolute path to one folder are refused" \
	"workloads \[a\] (line 3) and \[b\] (line 7) share the environment folder"

mx <<EOF
[a]
python = 3.11
venv = env

[b]
python = 3.11
path = ../proj
venv = env
EOF
expect_matrix_error "path = ../proj (the matrix's own folder through '..') is refused" \
	"workloads \[a\] (line 3) and \[b\] (line 8) share the environment folder '$P/env' under two names"

mkdir -p "$T_TMP/real"
REAL=$(cd "$T_TMP/real" && pwd -P)
ln -s "$T_TMP/real" "$P/rlink"
mx <<EOF
[a]
python = 3.11
path = rlink

[b]
python = 3.11
path = $T_TMP/real/sub/..
venv = .venv
EOF
expect_matrix_error "a symlink, and an absolute path with '..', to one folder are refused" \
	"workloads \[a\] (line 3) and \[b\] (line 8) share the environment folder '$REAL/.venv' under two names"

mx <<EOF
[a]
python = 3.11

[b]
python = 3.11
venv = .venv-original
EOF
expect_matrix_error "a venv that is another workload's snapshot is refused" \
	"matrix.ini:6: the environment folder of \[b\] ('$P/.venv-original') is the snapshot folder of \[a\] (line 1)"

mx <<EOF
[a]
python = 3.11
path = p

[b]
python = 3.11
path = plink
venv = .venv.envmatrix-staging
EOF
expect_matrix_error "a venv that is another workload's staging folder (through a symlink) is refused" \
	"matrix.ini:8: the environment folder of \[b\] ('$P/p/.venv.envmatrix-staging') is the staging folder of \[a\] (line 3)"

mx <<EOF
[a]
python = 3.11
path = p

[b]
python = 3.11
path = plink-2
EOF
t_run "$EM" status -f "$P/matrix.ini"
[ "$T_RC" = 0 ] && t_pass "different folders are fine" || t_fail "different folders" "$T_ERR"

# ---- 1 and 2: apply and rollback, with a real interpreter ----
PY1= V1=
while read -r ver impl src path; do
	case $ver in *t) continue ;; esac
	[ "$impl" = cpython ] || continue
	"$path" -c 'import venv' 2>/dev/null || continue
	PY1=$path V1=$ver
	break
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$PY1" ] || ! "$MKINDEX" "$top/tests/indexes/apply.spec" "$IDX" >/dev/null; then
	t_skip "apply and rollback checks" "no CPython with the venv module here (apt-get install python3-venv), or no mkindex"
	t_done
	exit
fi
echo "# python: $V1 ($PY1)"

# has DIR: DIR is a folder envmatrix can use as a Python environment
pyvenv() { # DIR: a hand-made venv, as a user makes one
	"$PY1" -m venv --without-pip "$1" 2>/dev/null || {
		mkdir -p "$1" && printf 'home = %s\nversion = %s\n' "$(dirname "$PY1")" "$V1" >"$1/pyvenv.cfg"
	}
}
made() { # DIR: made by envmatrix
	grep -q '^envmatrix\.workload' "$1/pyvenv.cfg" 2>/dev/null
}
plain_matrix() { # DIR [VENV]
	mkdir -p "$1"
	cat >"$1/matrix.ini" <<EOF
[w]
python = $V1
index-url = $IDX/simple
packages = greet
${2:+venv = $2}
EOF
}

# -- 1: the issue's example --
X="$T_TMP/x"
plain_matrix "$X"
(cd "$X" && pyvenv .venv && pyvenv .venv-original && echo x >.venv-original/PRECIOUS)
t_run sh -c "cd '$X' && '$EM' apply"
if [ "$T_RC" = 0 ] && [ "$(cat "$X/.venv-original.1/PRECIOUS" 2>/dev/null)" = x ] && made "$X/.venv" &&
	[ -f "$X/.venv-original/pyvenv.cfg" ] && ! made "$X/.venv-original"; then
	t_pass "apply keeps a hand-made .venv-original (PRECIOUS) as .venv-original.1"
else
	t_fail "hand-made .venv-original" "exit $T_RC" "$T_ERR" "$(ls -a "$X" "$X"/.venv-original* 2>&1)"
fi
printf '%s\n' "$T_ERR" | grep -qx "envmatrix: warning: workload 'w': kept '$X/.venv-original' (not made by envmatrix) as '$X/.venv-original.1'" &&
	t_pass "apply says so on stderr" || t_fail "the warning" "$T_ERR"
t_run "$EM" status -f "$X/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q "^w  *current " &&
	printf '%s\n' "$T_OUT" | grep -qx "w: kept '$X/.venv-original.1' (not made by envmatrix; envmatrix never removes it)" &&
	t_pass "status lists the kept folder" || t_fail "status kept" "$T_OUT" "$T_ERR"
t_run "$EM" status -f "$X/matrix.ini" --json
printf '%s\n' "$T_OUT" | tr -d ' \n' | grep -qF "\"kept\":[\"$X/.venv-original.1\"]" &&
	t_pass "status --json: kept" || t_fail "status --json kept" "$T_OUT"

# the hand-made .venv became the snapshot: not envmatrix's either (and
# with -q, which drops the table, the warning about it still shows)
t_run "$EM" apply -f "$X/matrix.ini" --force -q
[ "$T_RC" = 0 ] && [ -z "$T_OUT" ] &&
	printf '%s\n' "$T_ERR" | grep -qx "envmatrix: warning: workload 'w': kept '$X/.venv-original' (not made by envmatrix) as '$X/.venv-original.2'" &&
	t_pass "apply -q prints no table but still the warning about a kept folder" ||
	t_fail "apply -q: the kept warning" "exit $T_RC" "$T_OUT" "$T_ERR"
if [ "$T_RC" = 0 ] && [ -f "$X/.venv-original.2/pyvenv.cfg" ] && ! made "$X/.venv-original.2" &&
	made "$X/.venv-original" && [ -f "$X/.venv-original.1/PRECIOUS" ]; then
	t_pass "the next apply keeps the hand-made .venv (the snapshot now) as .venv-original.2"
else
	t_fail "second apply" "exit $T_RC" "$T_ERR" "$(ls -a "$X")"
fi
t_run "$EM" apply -f "$X/matrix.ini" --force
if [ "$T_RC" = 0 ] && [ ! -e "$X/.venv-original.3" ] && made "$X/.venv-original" &&
	! printf '%s\n' "$T_ERR" | grep -q "warning: .*kept"; then
	t_pass "a snapshot envmatrix made is replaced without a word"
else
	t_fail "third apply" "exit $T_RC" "$T_ERR" "$(ls -a "$X")"
fi
[ ! -e "$X/.venv/.envmatrix-snapshot" ] && [ -f "$X/.venv-original/.envmatrix-snapshot" ] &&
	t_pass "the marker is in the snapshot only" || t_fail "marker" "$(ls -a "$X/.venv" "$X/.venv-original")"

# a copy of an envmatrix environment, made by hand, is the user's
rm -rf "$X/.venv-original"
cp -a "$X/.venv" "$X/.venv-original"
echo mine >"$X/.venv-original/NOTE"
t_run "$EM" apply -f "$X/matrix.ini" --force
[ "$T_RC" = 0 ] && [ -f "$X/.venv-original.3/NOTE" ] &&
	t_pass "a hand-made copy of an envmatrix venv as .venv-original is kept" ||
	t_fail "copied venv" "exit $T_RC" "$T_ERR" "$(ls -a "$X")"

# -- 1: rollback to a hand-made snapshot, then apply --
Y="$T_TMP/y"
plain_matrix "$Y"
"$EM" apply -f "$Y/matrix.ini" >/dev/null 2>&1
(cd "$Y" && pyvenv .venv-original && echo x >.venv-original/PRECIOUS)
t_run "$EM" rollback -f "$Y/matrix.ini" w
if [ "$T_RC" = 0 ] && [ -f "$Y/.venv/PRECIOUS" ] && [ ! -e "$Y/.venv/.envmatrix-snapshot" ] &&
	made "$Y/.venv-original" && [ -f "$Y/.venv-original/.envmatrix-snapshot" ]; then
	t_pass "rollback to a hand-made snapshot puts it in place, unmarked"
else
	t_fail "rollback to hand-made" "exit $T_RC" "$T_ERR" "$(ls -a "$Y" "$Y/.venv")"
fi
t_run "$EM" apply -f "$Y/matrix.ini"
[ "$T_RC" = 0 ] && made "$Y/.venv" && [ -f "$Y/.venv-original/PRECIOUS" ] &&
	[ ! -e "$Y/.venv-original/.envmatrix-snapshot" ] && [ ! -e "$Y/.venv-original.1" ] &&
	t_pass "apply after it: the hand-made venv is the snapshot again (envmatrix's old one goes)" ||
	t_fail "apply after rollback" "exit $T_RC" "$T_ERR" "$(ls -a "$Y")"
t_run "$EM" rollback -f "$Y/matrix.ini" w
t_run "$EM" rollback -f "$Y/matrix.ini" w
[ "$T_RC" = 0 ] && made "$Y/.venv" && [ -f "$Y/.venv-original/PRECIOUS" ] &&
	[ ! -e "$Y/.venv-original/.envmatrix-snapshot" ] &&
	t_pass "two rollbacks never mark the hand-made venv as envmatrix's" ||
	t_fail "two rollbacks" "exit $T_RC" "$T_ERR" "$(ls -a "$Y" "$Y/.venv-original")"
ENVMATRIX_TEST_NO_EXCHANGE=1 "$EM" rollback -f "$Y/matrix.ini" w >/dev/null 2>&1
ENVMATRIX_TEST_NO_EXCHANGE=1 "$EM" rollback -f "$Y/matrix.ini" w >/dev/null 2>&1
[ -f "$Y/.venv-original/PRECIOUS" ] && [ ! -e "$Y/.venv-original/.envmatrix-snapshot" ] &&
	[ ! -e "$Y/.venv/.envmatrix-snapshot" ] &&
	t_pass "the same without RENAME_EXCHANGE" || t_fail "fallback rollbacks" "$(ls -a "$Y" "$Y/.venv-original")"
t_run "$EM" apply -f "$Y/matrix.ini" --force
[ "$T_RC" = 0 ] && [ -f "$Y/.venv-original.1/PRECIOUS" ] && made "$Y/.venv-original" &&
	t_pass "apply --force then keeps it as .venv-original.1" ||
	t_fail "apply --force after rollbacks" "exit $T_RC" "$T_ERR" "$(ls -a "$Y")"

# -- 2: a target that is not a Python environment --
Z="$T_TMP/z"
plain_matrix "$Z" models
mkdir -p "$Z/models/sub"
echo weights >"$Z/models/sub/w.bin"
t_expect_err "apply refuses a folder without pyvenv.cfg" 1 \
	"workload 'w': .*matrix.ini:5: '$Z/models' exists and is not a Python environment (no pyvenv.cfg)" -- \
	"$EM" apply -f "$Z/matrix.ini"
[ -f "$Z/models/sub/w.bin" ] && [ ! -e "$Z/models-original" ] && ! ls -d "$Z"/models.* >/dev/null 2>&1 &&
	t_pass "nothing was moved" || t_fail "models moved" "$(ls -a "$Z")"
t_expect_err "apply --dry-run says the same" 1 "'$Z/models' exists and is not a Python environment" -- \
	"$EM" apply -f "$Z/matrix.ini" --dry-run
rm -rf "$Z/models"
echo data >"$Z/models"
t_expect_err "a file at the target is refused" 1 "'$Z/models' exists and is not a Python environment (a file, not a folder)" -- \
	"$EM" apply -f "$Z/matrix.ini"
rm -f "$Z/models"
mkdir -p "$Z/data"
echo d >"$Z/data/keep"
ln -s data "$Z/models"
t_expect_err "a link to a folder without pyvenv.cfg is refused" 1 "'$Z/models' exists and is not a Python environment (no pyvenv.cfg)" -- \
	"$EM" apply -f "$Z/matrix.ini"
[ -L "$Z/models" ] && [ -f "$Z/data/keep" ] && t_pass "the link and its folder are untouched" ||
	t_fail "link moved" "$(ls -a "$Z")"
rm -f "$Z/models"
mkdir "$Z/models"
t_run "$EM" apply -f "$Z/matrix.ini"
[ "$T_RC" = 0 ] && made "$Z/models" && [ ! -e "$Z/models-original" ] &&
	t_pass "an empty folder is used (and no empty snapshot is made)" ||
	t_fail "empty folder" "exit $T_RC" "$T_ERR" "$(ls -a "$Z")"

# rollback never puts a non-environment in place, nor moves one aside
"$EM" apply -f "$Z/matrix.ini" --force >/dev/null 2>&1
rm -rf "$Z/models-original"
mkdir -p "$Z/models-original"
echo notes >"$Z/models-original/notes.txt"
t_expect_err "rollback to a snapshot without pyvenv.cfg is refused" 1 \
	"'$Z/models-original' is not a Python environment (no pyvenv.cfg); nothing was rolled back" -- \
	"$EM" rollback -f "$Z/matrix.ini" w
made "$Z/models" && [ -f "$Z/models-original/notes.txt" ] && t_pass "nothing moved" ||
	t_fail "rollback moved" "$(ls -a "$Z")"
rm -rf "$Z/models-original"
mv "$Z/models" "$Z/models-original"
mkdir -p "$Z/models"
echo w >"$Z/models/w.bin"
t_expect_err "rollback over a folder without pyvenv.cfg is refused" 1 \
	"'$Z/models' exists and is not a Python environment (no pyvenv.cfg)" -- \
	"$EM" rollback -f "$Z/matrix.ini" w
[ -f "$Z/models/w.bin" ] && made "$Z/models-original" && t_pass "nothing moved either" ||
	t_fail "rollback moved" "$(ls -a "$Z")"

t_done
