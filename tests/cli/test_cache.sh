#!/bin/sh
# test_cache.sh - `envmatrix cache dir|info|clean|prune`: where the cache
# is (--cache-dir, the matrix's cache-dir, ENVMATRIX_CACHE_DIR,
# XDG_CACHE_HOME, HOME), info's counts as text and JSON, what prune and
# clean remove and keep, links never followed, another process holding the
# cache (fails, or --wait), usage errors.
#
# Needs python3 (to read the JSON) and flock(1) from util-linux.
. "$(dirname "$0")/lib.sh"

unset ENVMATRIX_CACHE_DIR XDG_CACHE_HOME
W="$T_TMP/work"
mkdir -p "$W"
cd "$W" || exit 1

# ---- where the cache is ----
t_expect "dir: --cache-dir, made absolute" 0 "$W/mine" -- "$EM" cache dir --cache-dir mine
t_expect "dir: ENVMATRIX_CACHE_DIR" 0 "$T_TMP/env-cache" -- \
	env ENVMATRIX_CACHE_DIR="$T_TMP/env-cache" "$EM" cache dir
t_expect "dir: --cache-dir wins over ENVMATRIX_CACHE_DIR" 0 "$W/mine" -- \
	env ENVMATRIX_CACHE_DIR="$T_TMP/env-cache" "$EM" cache dir --cache-dir "$W/mine"
t_expect "dir: XDG_CACHE_HOME" 0 "$T_TMP/xdg/envmatrix" -- \
	env XDG_CACHE_HOME="$T_TMP/xdg" HOME="$T_TMP/home" "$EM" cache dir
t_expect "dir: HOME" 0 "$T_TMP/home/.cache/envmatrix" -- \
	env HOME="$T_TMP/home" "$EM" cache dir
t_expect "dir prints and creates nothing" 0 "no" -- \
	sh -c '"$1" cache dir --cache-dir "$2/never" >/dev/null; test -e "$2/never" && echo yes || echo no' \
	sh "$EM" "$W"
t_expect "dir --json" 0 '{
  "cache": "'"$W/mine"'"
}' -- "$EM" cache dir --cache-dir mine --json

M="$T_TMP/m"
mkdir -p "$M"
cat >"$M/matrix.ini" <<'EOF'
[matrix]
cache-dir = shared-cache

[tool]
python = 3.11
packages =
    numpy
EOF
t_expect "dir: the matrix's cache-dir with -f, relative to the matrix" 0 "$M/shared-cache" -- \
	env ENVMATRIX_CACHE_DIR="$T_TMP/env-cache" "$EM" cache dir -f "$M/matrix.ini"
t_expect "dir: ./matrix.ini's cache-dir" 0 "$M/shared-cache" -- \
	sh -c 'cd "$1" && ENVMATRIX_CACHE_DIR=/elsewhere "$2" cache dir' sh "$M" "$EM"
t_expect "dir: --cache-dir wins over the matrix" 0 "$W/mine" -- \
	"$EM" cache dir -f "$M/matrix.ini" --cache-dir "$W/mine"
t_expect_err "dir: a matrix that does not exist" 1 "no-such.ini" -- \
	"$EM" cache dir -f "$T_TMP/no-such.ini"

# ---- a fake cache ----
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
C=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
D=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
K="$T_TMP/cache"
OUT="$T_TMP/outside"
fake_cache() {
	chmod -R u+w "$K" 2>/dev/null
	rm -rf "$K" "$OUT" "$T_TMP/venv"
	mkdir -p "$K/wheels/$A" "$K/wheels/$B" "$K/wheels/$C" "$K/unpacked/$A/foo" \
		"$K/unpacked/$C/baz" "$K/unpacked/$D" "$K/tmp/stale" "$K/pages/ab" "$OUT" "$T_TMP/venv"
	head -c 300000 /dev/zero | tr '\0' x >"$OUT/big"
	head -c 20000 /dev/zero | tr '\0' w >"$K/wheels/$A/foo-1.0-py3-none-any.whl"
	: >"$K/wheels/$A/.lock"
	head -c 5000 /dev/zero | tr '\0' p >"$K/wheels/$B/bar-1.0-py3-none-any.whl.part"
	: >"$K/wheels/$B/.lock"
	head -c 20000 /dev/zero | tr '\0' w >"$K/wheels/$C/baz-1.0-py3-none-any.whl"
	# A: complete, a venv links to it; C: complete, rebuildable, links out
	echo foo >"$K/unpacked/$A/.envmatrix-unpacked"
	head -c 9000 /dev/zero | tr '\0' a >"$K/unpacked/$A/foo/__init__.py"
	ln "$K/unpacked/$A/foo/__init__.py" "$T_TMP/venv/__init__.py"
	echo baz >"$K/unpacked/$C/.envmatrix-unpacked"
	head -c 9000 /dev/zero | tr '\0' c >"$K/unpacked/$C/baz/data.py"
	ln -s "$OUT" "$K/unpacked/$C/baz/to-outside"
	ln -s "$OUT/big" "$K/unpacked/$C/baz/to-big"
	chmod -R a-w "$K/unpacked/$A" "$K/unpacked/$C"
	# D: no mark (a leftover); tmp/; pages/
	echo half >"$K/unpacked/$D/half.py"
	echo old >"$K/tmp/stale/f"
	echo page >"$K/pages/ab/$A"
	: >"$K/.lock"
}

# jsonq EXPR: evaluate EXPR with j = the JSON on stdin
jsonq() {
	python3 -c 'import json,sys; j=json.load(sys.stdin); print('"$1"')'
}

fake_cache
t_run "$EM" cache info --cache-dir "$K" --json
if [ "$T_RC" = 0 ] && got=$(printf '%s' "$T_OUT" | jsonq \
	'" ".join(str(j[k]["entries"]) for k in ("wheels","partial","unpacked","in_use","pages","tmp","total"))') &&
	[ "$got" = "2 1 2 1 1 2 8" ]; then
	t_pass "info --json parses and counts the tree"
else
	t_fail "info --json parses and counts the tree" "exit $T_RC" "got: ${got:-}" "want: 2 1 2 1 1 2 8" "stdout: $T_OUT" "stderr: $T_ERR"
fi
got=$(printf '%s' "$T_OUT" | jsonq 'j["cache"] == "'"$K"'" and j["total"]["bytes"] == sum(j[k]["bytes"] for k in ("wheels","partial","unpacked","pages","tmp")) and 0 < j["total"]["bytes"] < 300000 and j["in_use"]["bytes"] <= j["unpacked"]["bytes"]' 2>&1)
if [ "$got" = True ]; then
	t_pass "info --json: bytes add up, the links' target is not counted"
else
	t_fail "info --json: bytes add up, the links' target is not counted" "$got" "$T_OUT"
fi
t_run "$EM" cache info --cache-dir "$K"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | head -n 1 | grep -q "^cache  *$K\$" &&
	printf '%s\n' "$T_OUT" | grep -q '^wheels  *2  *[0-9.]* KiB$' &&
	printf '%s\n' "$T_OUT" | grep -q '^  in use  *1 ' &&
	printf '%s\n' "$T_OUT" | grep -q '^total  *8 ' && [ "$(printf '%s\n' "$T_OUT" | wc -l)" = 13 ]; then
	t_pass "info: the table"
else
	t_fail "info: the table" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- prune ----
t_run "$EM" cache prune --cache-dir "$K" --json
got=$(printf '%s' "$T_OUT" | jsonq '" ".join(str(j["removed"][k]["entries"]) for k in ("wheels","partial","unpacked","in_use","pages","tmp","total"))' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "0 1 1 0 1 2 5" ] &&
	[ -f "$K/wheels/$A/foo-1.0-py3-none-any.whl" ] && [ -f "$K/wheels/$C/baz-1.0-py3-none-any.whl" ] &&
	[ ! -e "$K/wheels/$A/.lock" ] && [ ! -e "$K/wheels/$B" ] &&
	[ -f "$K/unpacked/$A/foo/__init__.py" ] && [ ! -e "$K/unpacked/$C" ] && [ ! -e "$K/unpacked/$D" ] &&
	[ -z "$(ls -A "$K/tmp")" ] && [ -z "$(ls -A "$K/pages")" ] &&
	[ -f "$OUT/big" ] && [ -f "$T_TMP/venv/__init__.py" ] && [ -f "$K/.lock" ]; then
	t_pass "prune: leftovers, pages and rebuildable trees go; downloads and used trees stay"
else
	t_fail "prune: leftovers, pages and rebuildable trees go; downloads and used trees stay" \
		"exit $T_RC" "removed: $got (want 0 1 1 0 1 2 5)" "$(cd "$K" && find . | sort)" "$T_ERR"
fi
printf '%s\n' "$T_ERR" | grep -q "pruning '$K'" && t_pass "prune: progress on stderr" ||
	t_fail "prune: progress on stderr" "$T_ERR"
t_run "$EM" cache prune --cache-dir "$K"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | head -n 1 | grep -q '^removed  *entries  *size$' &&
	printf '%s\n' "$T_OUT" | grep -q '^total  *0  *0 B$'; then
	t_pass "prune again: nothing to remove"
else
	t_fail "prune again: nothing to remove" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- clean ----
fake_cache
t_run "$EM" cache clean --cache-dir "$K"
left=$(cd "$K" && find . -type f | sort)
if [ "$T_RC" = 0 ] && [ "$left" = "./.lock" ] && [ -d "$K" ] &&
	printf '%s\n' "$T_OUT" | grep -q '^total  *8 ' &&
	[ "$(wc -c <"$OUT/big")" = 300000 ] && [ "$(wc -c <"$T_TMP/venv/__init__.py")" = 9000 ]; then
	t_pass "clean: everything goes, the folder stays, nothing outside is touched"
else
	t_fail "clean: everything goes, the folder stays, nothing outside is touched" \
		"exit $T_RC" "left: $left" "$T_OUT" "$T_ERR"
fi
t_run "$EM" -q cache clean --cache-dir "$K"
if [ "$T_RC" = 0 ] && [ -z "$T_ERR" ] && [ -z "$T_OUT" ]; then
	t_pass "clean -q: prints nothing (errors only)"
else
	t_fail "clean -q: prints nothing (errors only)" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" cache clean --cache-dir "$K"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^total  *0  *0 B$'; then
	t_pass "clean: nothing left to remove"
else
	t_fail "clean: nothing left to remove" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect_err "info: a cache folder that cannot be made" 1 "$T_TMP/venv/__init__.py/sub" -- \
	"$EM" cache info --cache-dir "$T_TMP/venv/__init__.py/sub"

# ---- another process using the cache ----
if command -v flock >/dev/null 2>&1; then
	fake_cache
	rm -f "$T_TMP/ready"
	flock -s "$K/.lock" -c "touch '$T_TMP/ready'; sleep 2" &
	holder=$!
	i=0
	while [ ! -e "$T_TMP/ready" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	t_run "$EM" cache clean --cache-dir "$K"
	if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "$K: another envmatrix process is using the cache" &&
		[ -f "$K/wheels/$A/foo-1.0-py3-none-any.whl" ]; then
		t_pass "clean: busy cache fails, naming the folder, changing nothing"
	else
		t_fail "clean: busy cache fails, naming the folder, changing nothing" "exit $T_RC" "$T_ERR"
	fi
	t_expect_err "prune: busy too" 1 "using the cache; .*--wait" -- "$EM" cache prune --cache-dir "$K"
	t_run "$EM" cache clean --cache-dir "$K" --wait
	if [ "$T_RC" = 0 ] && ! kill -0 "$holder" 2>/dev/null && [ ! -e "$K/wheels/$A" ] &&
		printf '%s\n' "$T_ERR" | grep -q "waiting"; then
		t_pass "clean --wait: waits for the holder, then cleans"
	else
		t_fail "clean --wait: waits for the holder, then cleans" "exit $T_RC" "$T_ERR"
	fi
	wait "$holder" 2>/dev/null
	t_expect "info does not wait for a shared holder" 0 "0" -- \
		sh -c 'flock -s "$2/.lock" -c "\"$1\" cache info --cache-dir \"$2\" --json" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"][\"entries\"])"' \
		sh "$EM" "$K"
else
	t_skip "a busy cache: clean, prune and --wait" "flock(1) is not installed (apt-get install util-linux)"
fi

# ---- usage ----
t_expect_err "no subcommand" 2 "name the subcommand" -- "$EM" cache
t_expect_err "unknown subcommand" 2 "unknown subcommand 'purge'" -- "$EM" cache purge
t_expect_err "an extra argument" 2 "takes no argument" -- "$EM" cache info extra
t_expect_err "an unknown option" 2 "unknown option '--all'" -- "$EM" cache clean --all
t_expect_err "--wait with info" 2 "'--wait' is for clean and prune" -- "$EM" cache info --wait
t_expect_err "--cache-dir without a value" 2 "cache-dir" -- "$EM" cache dir --cache-dir
t_run "$EM" cache --help
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "Exit status"; then
	t_pass "--help"
else
	t_fail "--help" "exit $T_RC" "$T_OUT"
fi

t_done
