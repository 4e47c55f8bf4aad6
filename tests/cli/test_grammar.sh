#!/bin/sh
# test_grammar.sh - one command-line grammar for every command (issue 12):
#   item 9   an indented [section] header is an error wherever it stands,
#            also inside a continued value (find-links =), never an entry
#   item 11  every command that reads the matrix takes it as -f MATRIX or
#            as a first positional argument naming a .ini file; both at
#            once is a usage error naming both
#   item 12  the global options (-q, -v, --color=WHEN) are accepted after
#            the command too; -q prints nothing but errors and what the
#            command is asked to print (status's table, a path, --json)
#   item 13  each command's --help usage line names every option of its
#            table, each once
#
# Builds one small environment (tests/indexes/apply.spec) with the first
# CPython 3 'envmatrix python list' finds.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
export HOME="$T_TMP/home" ENVMATRIX_HISTORY=off
mkdir -p "$HOME"

# ---- item 13: usage lines made from the option tables ----
# check_usage WHAT HELP-TEXT: the first line names each option of the
# "options:" list (its short or long name), and no option twice
check_usage() {
	if printf '%s\n' "$2" | awk '
	NR == 1 { usage = $0; n = split($0, w, " ")
		for (i = 1; i <= n; i++) {
			if (w[i] !~ /^\[-/) continue
			t = w[i]; sub(/^\[/, "", t); sub(/\].*$/, "", t)
			if (seen[t]++) { print "option " t " twice in the usage line"; bad = 1 }
		}
		next }
	/^options:/ { inopts = 1; next }
	inopts && /^  / {
		left = substr($0, 3, 26)
		if (left ~ /^-h, --help/ || left ~ /--color=WHEN/) next
		m = split(left, x, /[ ,]+/); found = 0; names = ""
		for (i = 1; i <= m; i++) {
			if (x[i] !~ /^-/) continue
			names = names " " x[i]
			if (index(usage " ", "[" x[i] " ") || index(usage, "[" x[i] "]")) found = 1
		}
		if (names != "" && !found) { print "usage line lacks" names; bad = 1 }
	}
	END { exit bad }' >"$T_TMP/usage.out"; then
		t_pass "$1"
	else
		t_fail "$1" "$(head -n 1 "$T_TMP/usage.out")" "$(printf '%s\n' "$2" | head -n 1)"
	fi
}
for c in apply cache diff doctor history mirror plan python rollback run shell status verify \
	"debug lock" "debug marker" "debug metadata" "debug name" "debug requirement" \
	"debug specifier" "debug tags" "debug version" "debug wheel"; do
	# shellcheck disable=SC2086 # "debug lock" is two words
	t_run "$EM" $c --help
	if [ "$T_RC" != 0 ]; then
		t_fail "$c --help" "exit $T_RC" "$T_ERR"
		continue
	fi
	check_usage "$c --help: the usage line names each option once" "$T_OUT"
done

# a usage error shows the same usage line as --help
t_run "$EM" apply --help
want=$(printf '%s\n' "$T_OUT" | head -n 1)
t_run "$EM" apply --no-such-option
if [ "$T_RC" = 2 ] && printf '%s\n' "$T_ERR" | grep -qxF "$want"; then
	t_pass "apply's usage error shows the --help usage line"
else
	t_fail "apply's usage error shows the --help usage line" "want: $want" "stderr: $T_ERR"
fi

# ---- item 9: an indented header ----
D="$T_TMP/d"
mkdir -p "$D"
cat >"$D/m9.ini" <<EOF
[matrix]
find-links =
    ./wheels
  [vlm]
python = 3.12
EOF
t_expect_err "an indented header after find-links is an error, not an entry" 1 \
	"m9.ini:4: '\[vlm\]': a section header must not be indented" -- "$EM" status -f "$D/m9.ini"
printf '[matrix]\n  [vlm]\npython = 3.12\n' >"$D/m9b.ini"
t_expect_err "an indented header alone is the same error" 1 \
	"m9b.ini:2: '\[vlm\]': a section header must not be indented" -- "$EM" status -f "$D/m9b.ini"

# ---- item 11: -f MATRIX or MATRIX, for every command ----
"$MKINDEX" "$top/tests/indexes/apply.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }
V=
while read -r ver impl _rest; do
	case $ver in *t) continue ;; 3.*) ;; *) continue ;; esac
	[ "$impl" = cpython ] && { V=$ver; break; }
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
cat >"$D/m.ini" <<EOF
[matrix]
index-url = $IDX/simple

[vlm]
python = ${V:-3.12}
packages =
    greet
EOF
cd "$D" || exit 1

t_run "$EM" plan m.ini
if [ "$T_RC" = 0 ] && [ -f pylock.vlm.toml ]; then
	t_pass "plan m.ini reads m.ini"
else
	t_fail "plan m.ini reads m.ini" "exit $T_RC" "$T_ERR"
fi
t_expect_err "plan -f m.ini m.ini names both" 2 "'-f m.ini' and as 'm.ini'" -- \
	"$EM" plan -f m.ini m.ini
t_expect_err "apply -f m.ini ./m.ini names both" 2 "'-f m.ini' and as './m.ini'" -- \
	"$EM" apply -f m.ini ./m.ini
t_expect_err "status -f m.ini m.ini names both" 2 "named twice" -- "$EM" status -f m.ini m.ini
t_expect_err "rollback -f m.ini m.ini vlm names both" 2 "named twice" -- \
	"$EM" rollback -f m.ini m.ini vlm
t_run "$EM" status m.ini
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm '; then
	t_pass "status m.ini"
else
	t_fail "status m.ini" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" doctor --offline m.ini
if [ "$T_RC" != 2 ] && printf '%s\n' "$T_OUT" | grep -q 'workload *vlm'; then
	t_pass "doctor m.ini"
else
	t_fail "doctor m.ini" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" cache info m.ini
[ "$T_RC" = 0 ] && t_pass "cache info m.ini" || t_fail "cache info m.ini" "exit $T_RC" "$T_ERR"
t_run "$EM" python list m.ini
[ "$T_RC" = 0 ] && t_pass "python list m.ini" || t_fail "python list m.ini" "exit $T_RC" "$T_ERR"
t_run "$EM" mirror m.ini "$T_TMP/mirror"
if [ "$T_RC" = 0 ] && [ -d "$T_TMP/mirror/simple/greet" ]; then
	t_pass "mirror m.ini DIR"
else
	t_fail "mirror m.ini DIR" "exit $T_RC" "$T_ERR"
fi

if [ -z "$V" ]; then
	t_skip "apply, rollback, verify, shell, run with MATRIX; -q after the command" \
		"no CPython 3 interpreter ('envmatrix python list'; apt-get install python3)"
	t_done
	exit
fi

# ---- item 12: global options after the command; -q ----
t_run "$EM" apply -q m.ini
if [ "$T_RC" = 0 ] && [ -z "$T_OUT" ] && [ -z "$T_ERR" ] && [ -f .venv/pyvenv.cfg ]; then
	t_pass "apply -q m.ini: accepted, builds, prints nothing"
else
	t_fail "apply -q m.ini: accepted, builds, prints nothing" "exit $T_RC" "stdout: $T_OUT" \
		"stderr: $T_ERR"
fi
t_run "$EM" -q apply --force m.ini
if [ "$T_RC" = 0 ] && [ -z "$T_OUT" ] && [ -d .venv-original ]; then
	t_pass "-q apply --force: no table"
else
	t_fail "-q apply --force: no table" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
fi
t_run "$EM" apply m.ini --quiet --color=never -v --json
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '"workloads"'; then
	t_pass "apply --quiet --color=never -v --json: --json still prints"
else
	t_fail "apply --quiet --color=never -v --json: --json still prints" "exit $T_RC" \
		"stdout: $T_OUT" "stderr: $T_ERR"
fi
t_expect_err "apply --color=bogus is a usage error" 2 "auto, always or never" -- \
	"$EM" apply --color=bogus m.ini
t_run "$EM" plan m.ini -q
[ "$T_RC" = 0 ] && [ -z "$T_OUT" ] && t_pass "plan -q: no table" ||
	t_fail "plan -q: no table" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
t_run "$EM" status -q m.ini
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm '; then
	t_pass "status -q: the table is what status is for"
else
	t_fail "status -q: the table is what status is for" "exit $T_RC" "stdout: $T_OUT"
fi
t_run "$EM" verify -q m.ini vlm
[ "$T_RC" = 0 ] && [ -z "$T_OUT" ] && t_pass "verify -q m.ini vlm: no table" ||
	t_fail "verify -q m.ini vlm: no table" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
t_run "$EM" verify m.ini vlm
[ "$T_RC" = 0 ] && [ -n "$T_OUT" ] && t_pass "verify m.ini vlm" ||
	t_fail "verify m.ini vlm" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
t_run "$EM" shell -q m.ini vlm
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q 'activate'; then
	t_pass "shell -q m.ini vlm: the activation line still prints"
else
	t_fail "shell -q m.ini vlm: the activation line still prints" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect "run m.ini vlm" 0 "hello" -- "$EM" run m.ini vlm python -c 'import greet; print(greet.greeting())'
t_expect "run -q -f m.ini vlm" 0 "hello" -- "$EM" run -q -f m.ini vlm python -c 'import greet; print(greet.greeting())'
t_run "$EM" cache dir -q
[ "$T_RC" = 0 ] && [ -n "$T_OUT" ] && t_pass "cache dir -q: the path still prints" ||
	t_fail "cache dir -q: the path still prints" "exit $T_RC" "$T_ERR"

# rollback both ways; -q keeps it silent
t_run "$EM" rollback -f m.ini vlm
[ "$T_RC" = 0 ] && t_pass "rollback -f m.ini vlm" || t_fail "rollback -f m.ini vlm" "exit $T_RC" "$T_ERR"
t_run "$EM" rollback m.ini vlm
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "rolled back"; then
	t_pass "rollback m.ini vlm"
else
	t_fail "rollback m.ini vlm" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" rollback m.ini -q vlm
[ "$T_RC" = 0 ] && [ -z "$T_OUT" ] && t_pass "rollback m.ini -q vlm: silent" ||
	t_fail "rollback m.ini -q vlm: silent" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"

# a matrix named without .ini: a path with '/' or '.' to an existing file
cp m.ini matrix.cfg
t_run "$EM" status ./matrix.cfg vlm
[ "$T_RC" = 0 ] && t_pass "status ./matrix.cfg vlm" || t_fail "status ./matrix.cfg vlm" "exit $T_RC" "$T_ERR"
t_run "$EM" status matrix.cfg
[ "$T_RC" = 0 ] && t_pass "status matrix.cfg (an existing file)" ||
	t_fail "status matrix.cfg (an existing file)" "exit $T_RC" "$T_ERR"
t_expect_err "a name that is no file stays a workload" 1 "no matrix.ini here" -- "$EM" status vlm

t_done
