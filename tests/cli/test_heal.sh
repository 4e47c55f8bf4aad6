#!/bin/sh
# test_heal.sh - a damaged cache entry heals: a file edited through a
# venv's hard link changes the unpacked tree in the cache; `cache verify`
# names it, apply --force (and an apply whose verification fails) unpacks it
# again, `cache verify --repair` mends it, prune never keeps it. Also the
# wording of errors a user must act on: a full or read-only disk under the
# history repository is not "damaged" (tmpfs; skipped where mount fails).
#
# Needs python3 (a CPython the tests can build venvs for).
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
K="$T_TMP/cache"
export ENVMATRIX_CACHE_DIR="$K"
IDX="$T_TMP/idx"
cat >"$T_TMP/heal.spec" <<'EOF'
index simple format=both
  package healme
    wheel py3-none-any
    version 1.0
      file healme/__init__.py "VALUE = 'pristine'\n"
      file healme/other.py "X = 1\n"
EOF
"$MKINDEX" "$T_TMP/heal.spec" "$IDX" >/dev/null || { t_fail "build the test index"; t_done; exit 1; }
PYV=$("$EM" python list 2>/dev/null | awk '$2 == "cpython" && $1 !~ /t$/ { print $1; exit }')
if [ -z "$PYV" ]; then
	t_fail "a CPython 3 interpreter is needed (apt-get install python3)"
	t_done
	exit 1
fi
PYV=${PYV%.*}

M="$T_TMP/m"
mkdir -p "$M"
matrix() { # WORKLOAD...
	printf '[matrix]\nindex-url = %s/simple\npython = %s\n' "$IDX" "$PYV" >"$M/matrix.ini"
	for w in "$@"; do
		printf '\n[%s]\npath = %s\npackages =\n    healme\n' "$w" "$w" >>"$M/matrix.ini"
	done
}
matrix a b
t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] || { t_fail "the first apply" "exit $T_RC" "$T_ERR"; t_done; exit 1; }

site() { echo "$M/$1/.venv"/lib/python3*/site-packages; }
value() { "$M/$1/.venv/bin/python" -c 'import healme; print(healme.VALUE)' 2>/dev/null; }
tree() { dirname "$(dirname "$(ls "$K"/unpacked/*/healme/__init__.py)")"; }
# damage WORKLOAD: edit a file in place, as an editor that keeps hard links does
damage() {
	f="$(site "$1")/healme/__init__.py"
	chmod u+w "$f"
	printf 'raise ImportError("edited by hand")\n' >"$f"
}
# tamper WORKLOAD: the same size, other bytes
tamper() {
	f="$(site "$1")/healme/__init__.py"
	chmod u+w "$f"
	printf "VALUE = 'tampered'\n" >"$f"
}
links=$(stat -c %h "$(site a)/healme/__init__.py")
if [ "$links" -lt 2 ]; then
	t_skip "heal checks" "this file system gives copies, not hard links ($links link)"
	t_done
	exit 0
fi

# ---- cache verify names the damaged entry and file ----
t_expect "cache verify: an intact cache" 0 "1 unpacked wheel checked, 0 damaged" -- \
	"$EM" cache verify
damage a
TREE=$(tree)
t_run "$EM" cache verify
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | grep -q "^damaged  *healme-1.0-py3-none-any.whl $TREE: 'healme/__init__.py' is 36 bytes, but the wheel's RECORD says 19" &&
	printf '%s\n' "$T_OUT" | grep -q "1 damaged" && printf '%s\n' "$T_ERR" | grep -q "cache verify --repair"; then
	t_pass "cache verify: exit 1, names the wheel, the tree and the file that differs"
else
	t_fail "cache verify finds the damage" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" cache verify --json
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
x = d["damaged"]
assert d["checked"] == 1 and len(x) == 1, d
assert x[0]["wheel"] == "healme-1.0-py3-none-any.whl" and x[0]["state"] == "damaged", x
assert "healme/__init__.py" in x[0]["problem"], x
'; then
	t_pass "cache verify --json"
else
	t_fail "cache verify --json" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect_err "--repair is for verify" 2 "'--repair' is for verify" -- "$EM" cache info --repair

# ---- apply --force re-checks and unpacks again ----
t_run "$EM" apply --force -f "$M/matrix.ini" b
if [ "$T_RC" = 0 ] && [ "$(value b)" = pristine ] &&
	printf '%s\n' "$T_ERR" | grep -q "healme-1.0-py3-none-any.whl' was damaged (.*'healme/__init__.py' is 36 bytes.*unpacking it again"; then
	t_pass "apply --force: the damaged tree is unpacked again, the new venv is right"
else
	t_fail "apply --force heals" "exit $T_RC" "value: $(value b)" "$T_OUT" "$T_ERR"
fi
t_expect "after apply --force the cache verifies" 0 "1 unpacked wheel checked, 0 damaged" -- \
	"$EM" cache verify
[ "$(value a)" = "" ] && t_pass "the venv the user edited is not touched" ||
	t_fail "a's edit kept" "$(value a)"

# ---- an apply whose verification fails re-checks, unpacks again, rebuilds once ----
damage b
matrix a b c
t_run "$EM" apply -f "$M/matrix.ini" c
if [ "$T_RC" = 0 ] && [ "$(value c)" = pristine ] && printf '%s\n' "$T_ERR" | grep -q "was damaged"; then
	t_pass "a failed verification: damaged tree found, unpacked again, rebuilt once"
else
	t_fail "heal after a failed verification" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
# a failure the cache does not explain is reported, pointing to cache verify
mkdir -p "$T_TMP/f"
printf '[matrix]\nindex-url = %s/simple\npython = %s\n\n[f]\npackages =\n    healme\nverify = python -c "raise SystemExit(3)"\n' \
	"$IDX" "$PYV" >"$T_TMP/f/matrix.ini"
t_expect_err "a verification failure names 'envmatrix cache verify'" 1 "'envmatrix cache verify' finds" -- \
	"$EM" apply -f "$T_TMP/f/matrix.ini"

# ---- cache verify --repair ----
damage c
WHL=$(cd "$IDX/simple/healme" && ls healme-1.0-*.whl)
SHA=$(basename "$TREE")
t_run "$EM" cache verify --repair
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^dropped  *$WHL" &&
	[ ! -e "$TREE" ] && printf '%s\n' "$T_ERR" | grep -q "next apply"; then
	t_pass "verify --repair without a download: the tree is dropped, the next apply unpacks it"
else
	t_fail "verify --repair (no download)" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
"$EM" -q apply --force -f "$M/matrix.ini" c >/dev/null 2>&1
damage c
# the download an HTTP index leaves in the cache
mkdir -p "$K/wheels/$SHA"
cp "$IDX/simple/healme/$WHL" "$K/wheels/$SHA/"
t_run "$EM" cache verify --repair
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^repaired $WHL" &&
	grep -q pristine "$TREE/healme/__init__.py"; then
	t_pass "verify --repair: unpacked again from the cache's download"
else
	t_fail "verify --repair" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect "after --repair the cache verifies" 0 "1 unpacked wheel checked, 0 damaged" -- \
	"$EM" cache verify

# ---- the same size, other bytes: the hash tells ----
"$EM" -q apply --force -f "$M/matrix.ini" a >/dev/null 2>&1 # a links the repaired tree
tamper a
t_run "$EM" cache verify
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | grep -q "'healme/__init__.py' was changed: its hash is sha256=.*, the wheel's RECORD says sha256="; then
	t_pass "cache verify: a change of the same size is found by its hash"
else
	t_fail "same-size change" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- prune never keeps a damaged tree as good ----
t_run "$EM" cache prune
if [ "$T_RC" = 0 ] && ! grep -qs "tampered" "$K"/unpacked/*/healme/__init__.py; then
	t_pass "prune removes a damaged tree a venv links to"
else
	t_fail "prune keeps the damaged tree" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" apply --force -f "$M/matrix.ini" b
[ "$T_RC" = 0 ] && [ "$(value b)" = pristine ] && t_pass "apply after prune unpacks it again" ||
	t_fail "apply after prune" "exit $T_RC" "$T_ERR"

# ---- a full or read-only disk under the history is not "damaged" ----
HD="$T_TMP/hist"
mkdir -p "$HD"
trap 'umount "$HD" 2>/dev/null; rm -rf "$T_TMP"' EXIT INT TERM
if mount -t tmpfs -o size=512k tmpfs "$HD" 2>/dev/null; then
	export ENVMATRIX_HISTORY="$HD/history.git"
	t_run "$EM" apply --force -f "$M/matrix.ini" b
	[ "$T_RC" = 0 ] && [ -d "$ENVMATRIX_HISTORY" ] && t_pass "a history on a small tmpfs" ||
		t_fail "history on tmpfs" "exit $T_RC" "$T_ERR"
	dd if=/dev/zero of="$HD/fill" bs=4096 2>/dev/null
	t_run "$EM" apply --force -f "$M/matrix.ini" b
	case $T_RC:$T_ERR in
	*damaged*) t_fail "a full disk is not a damaged history" "exit $T_RC" "$T_ERR" ;;
	1:*"$ENVMATRIX_HISTORY"*"no space left on the device"*) t_pass "a full disk under the history says so, with the path" ;;
	*) t_fail "a full disk under the history" "exit $T_RC" "$T_ERR" ;;
	esac
	rm -f "$HD/fill"
	if mount -o remount,ro "$HD" 2>/dev/null; then
		t_run "$EM" apply --force -f "$M/matrix.ini" b
		case $T_RC:$T_ERR in
		*damaged*) t_fail "a read-only history is not a damaged one" "exit $T_RC" "$T_ERR" ;;
		1:*"$ENVMATRIX_HISTORY"*"read-only"*) t_pass "a read-only file system under the history says so" ;;
		*) t_fail "a read-only history" "exit $T_RC" "$T_ERR" ;;
		esac
	else
		t_skip "a read-only history" "cannot remount the tmpfs read-only (needs root)"
	fi
	umount "$HD"
	unset ENVMATRIX_HISTORY
else
	t_skip "a full and a read-only disk under the history" "cannot mount a tmpfs (needs root)"
fi

t_done
