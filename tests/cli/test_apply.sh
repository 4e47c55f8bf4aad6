#!/bin/sh
# test_apply.sh - `envmatrix apply`, `rollback`, `status`, `run`, `shell`
# end to end with real interpreters and real wheels: the venvs work
# (sys.prefix, pip, launchers, uninstall), snapshots and rollbacks are byte
# for byte, crashes at every step of the swap leave a complete environment,
# bad wheels and a full disk fail cleanly, --frozen/--locked/--dry-run/
# --fail-fast, the apply lock, a Windows-target venv written on Linux.
#
# Needs python3 and a pip wheel on the machine (Debian: python3-pip-whl, or
# an interpreter's ensurepip bundle); the checks that need two different
# Pythons, or a tmpfs mount, say so and are skipped where those are absent.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
"$MKINDEX" "$top/tests/indexes/apply.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }

# ---- what this machine has ----
PY1= PY2= V1= V2=
while read -r ver impl src path; do
	case $ver in *t) continue ;; esac
	[ "$impl" = cpython ] || continue
	if [ -z "$PY1" ]; then
		PY1=$path V1=$ver
	elif [ -z "$PY2" ] && [ "${ver%.*}" != "${V1%.*}" ]; then
		PY2=$path V2=$ver
	fi
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$PY1" ]; then
	t_skip "every check" "no CPython 3 interpreter (apt-get install python3)"
	t_done
	exit
fi
if [ -z "$PY2" ]; then
	echo "# only one Python ($V1) here: the two-version checks use it twice"
	PY2=$PY1 V2=$V1
fi
WHEELS="$T_TMP/wheels"
mkdir -p "$WHEELS"
for w in $(dirname "$(dirname "$PY1")")/lib/python3*/ensurepip/_bundled/*.whl \
	$(dirname "$(dirname "$PY2")")/lib/python3*/ensurepip/_bundled/*.whl \
	/usr/share/python-wheels/pip-*.whl /usr/share/python-wheels/setuptools-*.whl; do
	[ -f "$w" ] && [ ! -f "$WHEELS/$(basename "$w")" ] && cp "$w" "$WHEELS/"
done
if ! ls "$WHEELS"/pip-*.whl >/dev/null 2>&1; then
	t_skip "every check" "no real pip wheel (apt-get install python3-pip-whl)"
	t_done
	exit
fi
SETUPTOOLS=
ls "$WHEELS"/setuptools-*.whl >/dev/null 2>&1 && SETUPTOOLS=setuptools
echo "# pythons: $V1 ($PY1), $V2 ($PY2); wheels: $(cd "$WHEELS" && echo *)"

# listing DIR: every entry's type, mode, size, link target and content hash
# (but the marker envmatrix puts in a snapshot it filed, docs/safety.md)
listing() {
	(cd "$1" && find . ! -path ./.envmatrix-snapshot -printf '%y %m %s %l %p\n' | sort &&
		find . -type f ! -path ./.envmatrix-snapshot -exec sha256sum {} + | sort -k 2)
}

# complete DIR: every file every RECORD of the venv names exists
complete() {
	[ -f "$1/pyvenv.cfg" ] && [ -f "$1/pylock.toml" ] || return 1
	for rec in "$1"/lib/python3*/site-packages/*.dist-info/RECORD; do
		[ -f "$rec" ] || return 1
		site=$(dirname "$(dirname "$rec")")
		while IFS=, read -r path _; do
			[ -e "$site/$path" ] || { echo "# missing $site/$path"; return 1; }
		done <"$rec"
	done
}

M="$T_TMP/m"
mkdir -p "$M"
write_matrix() { # HELLO_SPEC_FOR_A
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
find-links = $WHEELS

[a]
path = a
python = $V1
packages =
    hello$1
    pip

[b]
path = b
venv = env
python = $V2
packages =
    hello==1.0
    pip
    $SETUPTOOLS
env.FOO = bar baz
env.EMPTY =
EOF
}
write_matrix "==1.0"
A="$M/a/.venv"
B="$M/b/env"

# ---- the first apply builds both ----
t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^a  *built ' &&
	printf '%s\n' "$T_OUT" | grep -q '^b  *built '; then
	t_pass "apply builds two workloads"
else
	t_fail "apply builds two workloads" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
[ -f "$M/pylock.a.toml" ] && [ -f "$M/pylock.b.toml" ] && t_pass "apply writes the locks" ||
	t_fail "apply writes the locks"

t_run "$A/bin/python" -c 'import sys, platform; print(sys.prefix); print(platform.python_version()); print(sys.base_prefix != sys.prefix)'
want="$A
$V1
True"
[ "$T_RC" = 0 ] && [ "$T_OUT" = "$want" ] && t_pass "a's python: sys.prefix is the venv, Python $V1" ||
	t_fail "a's python" "$T_OUT" "want: $want" "$T_ERR"
t_run "$B/bin/python" -c 'import sys, platform; print(sys.prefix); print(platform.python_version())'
[ "$T_RC" = 0 ] && [ "$T_OUT" = "$B
$V2" ] && t_pass "b's python: sys.prefix is the venv, Python $V2" || t_fail "b's python" "$T_OUT" "$T_ERR"

t_run "$A/bin/python" -m pip --version
case $T_OUT in
"pip "*" from $A/lib/python"*/site-packages/pip*) t_pass "the installed pip runs from the venv" ;;
*) t_fail "python -m pip --version" "$T_OUT" "$T_ERR" ;;
esac
t_run "$A/bin/pip" --version
[ "$T_RC" = 0 ] && t_pass "pip's console-script launcher runs" || t_fail "bin/pip" "$T_OUT" "$T_ERR"
for v in "$A" "$B"; do
	t_run "$v/bin/python" -m pip check
	[ "$T_RC" = 0 ] && t_pass "pip check is clean in $(basename "$(dirname "$v")")" ||
		t_fail "pip check in $v" "$T_OUT" "$T_ERR"
done
t_run "$A/bin/python" -m pip list --format=freeze
printf '%s\n' "$T_OUT" | grep -q '^hello==1.0$' && printf '%s\n' "$T_OUT" | grep -q '^greet==1.0$' &&
	t_pass "pip list sees hello and greet" || t_fail "pip list" "$T_OUT"
t_expect "the console script runs with the venv's python" 0 "hello 1.0 $A" -- "$A/bin/hello"
t_expect "the gui script runs" 0 "hello 1.0 $A" -- "$A/bin/hello-gui"
t_expect "a #!python script from .data/scripts is rewritten" 0 "raw 1.0 $A" -- "$A/bin/hello-raw"
t_expect "platlib data lands in site-packages" 0 "platlib" -- "$A/bin/python" -c 'import hello_native; print(hello_native.KIND)'
[ -f "$A/include/site/python${V1%.*}/hello/hello.h" ] && t_pass "headers land in include/site" ||
	t_fail "headers" "$(cd "$A" && find include)"
[ -f "$A/share/hello/readme.txt" ] && t_pass "data files land in the prefix" || t_fail "data files"
site=$(echo "$A"/lib/python3*/site-packages)
[ "$(cat "$site"/hello-1.0.dist-info/INSTALLER)" = envmatrix ] && t_pass "INSTALLER says envmatrix" ||
	t_fail "INSTALLER"
[ -f "$site/hello-1.0.dist-info/REQUESTED" ] && [ ! -f "$site/greet-1.0.dist-info/REQUESTED" ] &&
	t_pass "REQUESTED only for what the matrix names" || t_fail "REQUESTED"
if grep -q "staging" "$A/bin/hello" "$A/bin/activate" "$A/pyvenv.cfg" "$site"/*.dist-info/RECORD; then
	t_fail "no generated file names the staging folder"
else
	t_pass "no generated file names the staging folder"
fi
t_run "$EM" run -f "$M/matrix.ini" b -- sh -c 'echo "$FOO|$EMPTY|$VIRTUAL_ENV|$(command -v python)"'
[ "$T_OUT" = "bar baz||$B|$B/bin/python" ] && t_pass "run sets env.NAME, VIRTUAL_ENV and PATH" ||
	t_fail "run" "$T_OUT" "$T_ERR"
t_run sh -c "cd '$M' && '$EM' run b python -c 'import hello; print(hello.VERSION)'"
[ "$T_OUT" = "1.0" ] && t_pass "run finds matrix.ini in the current folder, no -- needed" ||
	t_fail "run without --" "$T_OUT" "$T_ERR"
t_expect_err "run reports a missing command" 127 "cannot run 'no-such-command'" -- \
	"$EM" run -f "$M/matrix.ini" a -- no-such-command
t_expect "shell prints the activation line" 0 ". '$A/bin/activate'" -- \
	env SHELL=/bin/bash "$EM" shell -f "$M/matrix.ini" a
t_expect "shell for fish" 0 "source '$A/bin/activate.fish'" -- "$EM" shell -f "$M/matrix.ini" --shell fish a

# shared wheels are one copy on disk: both venvs link the cache's file
ga=$(echo "$A"/lib/python3*/site-packages/greet/__init__.py)
gb=$(echo "$B"/lib/python3*/site-packages/greet/__init__.py)
if [ "$(stat -c %i "$ga")" = "$(stat -c %i "$gb")" ] && [ "$(stat -c %h "$ga")" -ge 3 ]; then
	t_pass "a wheel two workloads share is one copy on disk (hard links into the cache)"
else
	t_fail "shared files" "$(stat -c '%i %h %n' "$ga" "$gb")"
fi

# pip uninstall removes every file envmatrix installed for a package
rec=$(cat "$site/hello-1.0.dist-info/RECORD" | cut -d, -f1)
t_run "$A/bin/python" -m pip uninstall -y hello
left=
for f in $rec; do
	[ -e "$site/$f" ] && left="$left $f"
done
if [ "$T_RC" = 0 ] && [ -z "$left" ] && [ ! -e "$A/bin/hello" ] && [ ! -d "$site/hello-1.0.dist-info" ]; then
	t_pass "pip uninstall removes every file envmatrix installed"
else
	t_fail "pip uninstall" "exit $T_RC" "left:$left" "$T_OUT" "$T_ERR"
fi

# ---- status, a second apply, an upgrade, rollback ----
t_run "$EM" status -f "$M/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q "^a  *current  *$V1 .* no  *[a-zA-Z-]*  *$A\$" &&
	printf '%s\n' "$T_OUT" | grep -q "^b  *current  *$V2 " &&
	t_pass "status: both current, no snapshots" || t_fail "status" "$T_OUT" "$T_ERR"
t_run "$EM" apply -f "$M/matrix.ini" --force a
[ "$T_RC" = 0 ] && [ -x "$A/bin/hello" ] && [ -d "$M/a/.venv-original" ] &&
	t_pass "apply --force rebuilds (the pip-uninstalled hello is back)" || t_fail "--force" "$T_OUT" "$T_ERR"
t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c ' unchanged ')" = 2 ] &&
	t_pass "a second apply leaves both alone" || t_fail "second apply" "$T_OUT" "$T_ERR"

write_matrix "==2.0"
cp "$M/pylock.a.toml" "$T_TMP/lock.a.1"
t_run "$EM" apply -f "$M/matrix.ini" --dry-run
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^a  *would build' &&
	cmp -s "$M/pylock.a.toml" "$T_TMP/lock.a.1" && [ "$("$A/bin/hello")" = "hello 1.0 $A" ]; then
	t_pass "--dry-run says what would be built and changes nothing"
else
	t_fail "--dry-run" "$T_OUT" "$T_ERR"
fi
t_expect_err "--locked fails on a stale lock, builds nothing" 3 "pylock.a.toml: the lock is out of date" -- \
	"$EM" apply -f "$M/matrix.ini" --locked
cmp -s "$M/pylock.a.toml" "$T_TMP/lock.a.1" && t_pass "--locked leaves the lock alone" ||
	t_fail "--locked changed the lock"
t_run "$EM" apply -f "$M/matrix.ini" --frozen
[ "$T_RC" = 0 ] && [ "$("$A/bin/hello")" = "hello 1.0 $A" ] &&
	t_pass "--frozen installs the existing locks without planning" || t_fail "--frozen" "$T_OUT" "$T_ERR"
listing "$A" >"$T_TMP/a1.list"
t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^a  *built' &&
	printf '%s\n' "$T_OUT" | grep -q '^b  *unchanged' && [ "$("$A/bin/hello")" = "hello 2.0 $A" ]; then
	t_pass "an upgrade rebuilds only the changed workload"
else
	t_fail "upgrade" "$T_OUT" "$T_ERR"
fi
listing "$M/a/.venv-original" >"$T_TMP/a1.snap"
cmp -s "$T_TMP/a1.list" "$T_TMP/a1.snap" && t_pass "the previous venv is the snapshot, unchanged" ||
	t_fail "snapshot" "$(diff "$T_TMP/a1.list" "$T_TMP/a1.snap" | head -5)"
t_run "$EM" rollback -f "$M/matrix.ini" a
[ "$T_RC" = 0 ] && [ "$("$A/bin/hello")" = "hello 1.0 $A" ] && t_pass "rollback puts hello 1.0 back" ||
	t_fail "rollback" "$T_OUT" "$T_ERR"
t_run "$EM" status -f "$M/matrix.ini" a
printf '%s\n' "$T_OUT" | grep -q "^a  *outdated .* yes " && t_pass "status: rolled back is outdated, with a snapshot" ||
	t_fail "status after rollback" "$T_OUT"
t_run sh -c "cd '$M' && '$EM' rollback a"
[ "$T_RC" = 0 ] && [ "$("$A/bin/hello")" = "hello 2.0 $A" ] &&
	t_pass "a second rollback re-applies (matrix.ini found in the current folder)" || t_fail "second rollback" "$T_OUT" "$T_ERR"
t_expect_err "rollback without a snapshot refuses" 1 "workload 'b' has no snapshot to roll back to: '$B-original' does not exist" -- \
	"$EM" rollback -f "$M/matrix.ini" b
t_expect_err "rollback of an unknown workload names the known ones" 1 "no workload 'zz' in '.*' (it has 'a', 'b')" -- \
	"$EM" rollback -f "$M/matrix.ini" zz

# ---- a hand-made venv is kept byte for byte ----
H="$T_TMP/h"
mkdir -p "$H/proj/.venv/bin" "$H/proj/.venv/lib/deep/er"
printf 'home = /usr/bin\nversion = 3.0\n' >"$H/proj/.venv/pyvenv.cfg"
printf '#!/bin/sh\necho mine\n' >"$H/proj/.venv/bin/tool"
chmod 751 "$H/proj/.venv/bin/tool"
head -c 70000 /dev/urandom >"$H/proj/.venv/lib/deep/er/blob"
ln -s ../lib/deep "$H/proj/.venv/bin/link"
ln -s /nonexistent "$H/proj/.venv/dangling"
chmod 700 "$H/proj/.venv/lib/deep"
listing "$H/proj/.venv" >"$T_TMP/hand.list"
cat >"$H/matrix.ini" <<EOF
[h]
path = proj
python = $V1
index-url = $IDX/simple
packages = greet
EOF
t_run "$EM" apply -f "$H/matrix.ini"
listing "$H/proj/.venv-original" >"$T_TMP/hand.snap" 2>/dev/null
[ "$T_RC" = 0 ] && cmp -s "$T_TMP/hand.list" "$T_TMP/hand.snap" &&
	t_pass "a hand-made .venv becomes .venv-original untouched" ||
	t_fail "hand-made venv" "$T_OUT" "$T_ERR" "$(diff "$T_TMP/hand.list" "$T_TMP/hand.snap" | head -5)"
t_run "$EM" status -f "$H/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q '^h  *current .* yes ' && t_pass "status shows the snapshot" || t_fail "status h" "$T_OUT"
"$EM" rollback -f "$H/matrix.ini" h >/dev/null 2>&1
listing "$H/proj/.venv" >"$T_TMP/hand.back"
cmp -s "$T_TMP/hand.list" "$T_TMP/hand.back" && t_pass "rollback restores it byte for byte" ||
	t_fail "rollback of the hand-made venv" "$(diff "$T_TMP/hand.list" "$T_TMP/hand.back" | head -5)"
t_run "$EM" status -f "$H/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q '^h  *foreign ' && t_pass "status: the hand-made venv is foreign" || t_fail "status foreign" "$T_OUT"
ENVMATRIX_TEST_NO_EXCHANGE=1 "$EM" rollback -f "$H/matrix.ini" h >/dev/null 2>&1 &&
	ENVMATRIX_TEST_NO_EXCHANGE=1 "$EM" rollback -f "$H/matrix.ini" h >/dev/null 2>&1
listing "$H/proj/.venv" >"$T_TMP/hand.back2"
cmp -s "$T_TMP/hand.list" "$T_TMP/hand.back2" && complete "$H/proj/.venv-original" &&
	t_pass "rollback without RENAME_EXCHANGE (three renames) works both ways" || t_fail "rollback fallback"

# ---- link-mode = copy gives the venv its own files ----
K="$T_TMP/k"
mkdir -p "$K"
cat >"$K/matrix.ini" <<EOF
[matrix]
link-mode = copy

[k]
python = $V1
index-url = $IDX/simple
packages = greet
EOF
t_run "$EM" apply -f "$K/matrix.ini"
gk=$(echo "$K"/.venv/lib/python3*/site-packages/greet/__init__.py)
[ "$T_RC" = 0 ] && [ "$(stat -c %h "$gk")" = 1 ] && [ "$(stat -c %i "$gk")" != "$(stat -c %i "$ga")" ] &&
	cmp -s "$gk" "$ga" && t_pass "link-mode = copy: the venv's files are its own copies" ||
	t_fail "link-mode = copy" "$T_ERR" "$(stat -c '%i %h %n' "$gk" "$ga")"
sed -i 's/^link-mode = copy$/link-mode = symlink/' "$K/matrix.ini"
t_expect_err "an invalid link-mode names the line" 1 "matrix.ini:2.*link-mode" -- "$EM" apply -f "$K/matrix.ini"

# ---- crashes at every step of the swap ----
# each leaves a complete old or new venv; the next apply tidies up
C="$T_TMP/c"
mkdir -p "$C"
crash_matrix() { # HELLO_VERSION
	cat >"$C/matrix.ini" <<EOF
[c]
python = $V1
index-url = $IDX/simple
packages = hello==$1
EOF
}
crash_matrix 1.0
"$EM" apply -f "$C/matrix.ini" >/dev/null 2>&1
crash_matrix 2.0
"$EM" apply -f "$C/matrix.ini" >/dev/null 2>&1 # a snapshot exists from here on
ver=2.0
for point in staged journal trash fallback exchange snapshot done rollback-1 rollback-2; do
	for mode in exchange no-exchange; do
		[ "$point" = fallback ] && [ "$mode" = exchange ] && continue
		nx=
		[ "$mode" = no-exchange ] && nx=1
		next=1.0
		[ "$ver" = 1.0 ] && next=2.0
		case $point in
		rollback-*)
			[ "$mode" = exchange ] && continue
			ENVMATRIX_TEST_NO_EXCHANGE=1 ENVMATRIX_TEST_CRASH_AT=$point "$EM" rollback -f "$C/matrix.ini" c >/dev/null 2>&1
			;;
		*)
			crash_matrix "$next"
			env ${nx:+ENVMATRIX_TEST_NO_EXCHANGE=1} ENVMATRIX_TEST_CRASH_AT=$point "$EM" apply -f "$C/matrix.ini" >/dev/null 2>&1
			;;
		esac
		rc=$?
		got=$("$C/.venv/bin/hello" 2>&1 | cut -d' ' -f2)
		# without RENAME_EXCHANGE a directory cannot replace another in one
		# step: between the two renames the venv is absent (its old self
		# complete at -original), and the next apply puts it back
		gap=no
		case $point in fallback | rollback-1)
			[ ! -e "$C/.venv" ] && { complete "$C/.venv-original" || complete "$C/.venv.envmatrix-trash"; } && gap=yes ;;
		esac
		if [ "$rc" = 137 ] && { [ "$gap" = yes ] || { complete "$C/.venv" && { [ "$got" = 1.0 ] || [ "$got" = 2.0 ]; }; }; }; then
			if [ "$gap" = yes ]; then
				got="absent until recovery"
				"$EM" status -f "$C/matrix.ini" | grep -q '^c  *interrupted ' || got="status does not say interrupted"
			fi
			t_run "$EM" apply -f "$C/matrix.ini"
			if [ "$T_RC" = 0 ] && complete "$C/.venv" && complete "$C/.venv-original" &&
				[ "$("$C/.venv/bin/hello" | cut -d' ' -f2)" = "$(sed -n 's/^packages = hello==//p' "$C/matrix.ini")" ] &&
				! ls -d "$C"/.venv.envmatrix-* >/dev/null 2>&1; then
				case $got in status*) t_fail "after '$point' ($mode): $got" ;; *)
				t_pass "SIGKILL after '$point' ($mode): hello $got, complete; the next apply tidies up" ;; esac
			else
				t_fail "after '$point' ($mode): next apply" "exit $T_RC" "$T_OUT" "$T_ERR" "$(ls -a "$C")"
			fi
		else
			t_fail "SIGKILL after '$point' ($mode)" "exit $rc" "hello: $got" "$(ls -a "$C")"
		fi
		ver=$("$C/.venv/bin/hello" | cut -d' ' -f2)
	done
done

# and at random moments, while it builds
crash_matrix 1.0
"$EM" apply -f "$C/matrix.ini" >/dev/null 2>&1
ok=0
for d in 0.01 0.03 0.05 0.08 0.12 0.2; do
	crash_matrix 2.0
	"$EM" apply -f "$C/matrix.ini" --force >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	got=$("$C/.venv/bin/hello" 2>&1 | cut -d' ' -f2)
	if complete "$C/.venv" && { [ "$got" = 1.0 ] || [ "$got" = 2.0 ]; }; then
		ok=$((ok + 1))
	else
		echo "# after ${d}s: hello '$got'; $(ls -a "$C")"
	fi
	"$EM" apply -f "$C/matrix.ini" >/dev/null 2>&1
done
[ "$ok" = 6 ] && t_pass "SIGKILL at six moments of a build: always a complete venv" ||
	t_fail "SIGKILL at random moments: $ok of 6 complete"

# ---- bad wheels: clear errors, the old venv intact, nothing outside staging ----
BAD="$T_TMP/bad"
mkdir -p "$BAD/fl"
python3 - "$IDX/simple/greet/greet-1.0-py3-none-any.whl" "$BAD/fl" <<'PY'
import sys, zipfile, os, hashlib, base64
src, out = sys.argv[1], sys.argv[2]
good = zipfile.ZipFile(src)
members = {i.filename: good.read(i.filename) for i in good.infolist()}
def record(files):
    rows = []
    for n, b in files.items():
        if n.endswith("RECORD"):
            continue
        h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
        rows.append("%s,sha256=%s,%d" % (n, h, len(b)))
    rows.append("%s,," % [n for n in files if n.endswith("RECORD")][0])
    return "\n".join(rows) + "\n"
def write(name, version, files, extra=None, fix_record=True, link=None):
    files = {n.replace("greet-1.0", "%s-%s" % (name, version)).replace("greet/", name + "/"): b
             for n, b in files.items()}
    for n in list(files):
        if n.endswith("METADATA"):
            files[n] = files[n].replace(b"Name: greet", b"Name: " + name.encode())
    if extra:
        files.update(extra)
    if fix_record:
        rec = [n for n in files if n.endswith("RECORD")][0]
        files[rec] = record(files).encode()
    path = os.path.join(out, "%s-%s-py3-none-any.whl" % (name, version))
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
        if link:
            i = zipfile.ZipInfo(link[0])
            i.external_attr = (0o120777 << 16)
            z.writestr(i, link[1])
    return path
# RECORD lies about a member's hash
f = dict(members)
p = write("liar", "1.0", f)
z = zipfile.ZipFile(p); files = {i.filename: z.read(i.filename) for i in z.infolist()}; z.close()
files["liar/__init__.py"] = files["liar/__init__.py"].replace(b"hello", b"HELLO")  # same size
write("liar", "1.0", files, fix_record=False)
write("dotdot", "1.0", members, extra={"../../escaped.txt": b"gotcha\n"})
write("absolute", "1.0", members, extra={"/tmp/envmatrix-absolute-escape.txt": b"gotcha\n"})
write("linky", "1.0", members, link=("linky/evil", "../../../../../../etc"))
p = write("truncated", "1.0", members)
data = open(p, "rb").read()
open(p, "wb").write(data[: len(data) * 2 // 3])
PY
mkdir -p "$BAD/proj"
cp -R "$A" "$BAD/proj/.venv"
listing "$BAD/proj/.venv" >"$T_TMP/bad.before"
for case in "liar:sha256" "dotdot:\.\./\.\./escaped.txt" "absolute:/tmp/envmatrix-absolute-escape.txt" \
	"linky:linky/evil" "truncated:truncated"; do
	name=${case%%:*}
	pat=${case#*:}
	cat >"$BAD/matrix.ini" <<EOF
[matrix]
find-links = $BAD/fl
index-url = $IDX/simple

[bad]
path = proj
python = $V1
packages =
    greet
    $name

[good]
path = good-$name
python = $V1
packages = greet
EOF
	t_run "$EM" apply -f "$BAD/matrix.ini"
	listing "$BAD/proj/.venv" >"$T_TMP/bad.after"
	if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "workload 'bad'.*$name-1.0-py3-none-any.whl" &&
		printf '%s\n' "$T_ERR" | grep -q -- "$pat" &&
		cmp -s "$T_TMP/bad.before" "$T_TMP/bad.after" && [ ! -e "$BAD/proj/.venv-original" ] &&
		! ls -d "$BAD"/proj/.venv.envmatrix-* >/dev/null 2>&1 &&
		[ ! -e "$T_TMP/escaped.txt" ] && [ ! -e "$BAD/escaped.txt" ] &&
		[ ! -e /tmp/envmatrix-absolute-escape.txt ] &&
		printf '%s\n' "$T_OUT" | grep -q '^good  *built'; then
		t_pass "a $name wheel: clear error, old venv intact, nothing escaped, other workloads built"
	else
		t_fail "a $name wheel" "exit $T_RC" "$T_OUT" "$T_ERR" "$(diff "$T_TMP/bad.before" "$T_TMP/bad.after" | head -3)"
	fi
done
t_run "$EM" apply -f "$BAD/matrix.ini" --fail-fast
[ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | grep -q '^good  *skipped' &&
	t_pass "--fail-fast skips the workloads after a failed one" || t_fail "--fail-fast" "$T_OUT" "$T_ERR"

# ---- a full disk ----
if [ "$(id -u)" = 0 ] && mkdir -p "$T_TMP/full" && mount -t tmpfs -o size=3m tmpfs "$T_TMP/full" 2>/dev/null; then
	mkdir -p "$T_TMP/full/proj"
	cp -R "$IDX" "$T_TMP/full-idx"
	cat >"$T_TMP/full/matrix.ini" <<EOF
[matrix]
cache-dir = $T_TMP/full/cache
find-links = $WHEELS

[f]
path = proj
python = $V1
index-url = $IDX/simple
packages = greet
EOF
	"$EM" apply -f "$T_TMP/full/matrix.ini" >/dev/null 2>&1
	listing "$T_TMP/full/proj/.venv" >"$T_TMP/full.before"
	sed -i 's/^packages = greet$/packages = greet\n    pip/' "$T_TMP/full/matrix.ini"
	t_run "$EM" apply -f "$T_TMP/full/matrix.ini"
	listing "$T_TMP/full/proj/.venv" >"$T_TMP/full.after"
	if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "No space left on device" &&
		cmp -s "$T_TMP/full.before" "$T_TMP/full.after" &&
		! ls -d "$T_TMP"/full/proj/.venv.envmatrix-* >/dev/null 2>&1; then
		t_pass "a full disk: clear error, old venv intact, staging removed"
	else
		t_fail "full disk" "exit $T_RC" "$T_ERR"
	fi
	umount "$T_TMP/full"
else
	t_skip "a full disk: clear error, old venv intact, staging removed" "needs root and a tmpfs mount"
fi

# ---- one apply at a time ----
L="$T_TMP/l"
mkdir -p "$L"
cp "$C/matrix.ini" "$L/matrix.ini"
"$EM" apply -f "$L/matrix.ini" >/dev/null 2>&1 # creates .envmatrix/apply.lock
if command -v flock >/dev/null 2>&1; then
	flock "$L/.envmatrix/apply.lock" sleep 3 &
	holder=$!
	sleep 0.3
	t_expect_err "a second apply says the matrix is busy" 1 "another envmatrix is working on this matrix" -- \
		"$EM" apply -f "$L/matrix.ini" --force
	t_run "$EM" apply -f "$L/matrix.ini" --force --wait
	[ "$T_RC" = 0 ] && printf '%s\n' "$T_ERR" | grep -q "waiting" && t_pass "--wait waits for the holder" ||
		t_fail "--wait" "exit $T_RC" "$T_ERR"
	wait "$holder"
else
	t_skip "a second apply says the matrix is busy; --wait waits" "flock(1) is not installed (apt-get install util-linux)"
fi

# ---- a Windows target, written on Linux from a fake Windows Python ----
W="$T_TMP/w"
WH="$W/python312"
mkdir -p "$WH/Lib/venv/scripts/nt" "$WH/DLLs"
printf 'MZ fake python.exe' >"$WH/python.exe"
printf 'MZ fake pythonw.exe' >"$WH/pythonw.exe"
printf 'MZ fake venvlauncher' >"$WH/Lib/venv/scripts/nt/venvlauncher.exe"
printf 'MZ fake venvwlauncher' >"$WH/Lib/venv/scripts/nt/venvwlauncher.exe"
printf '# os\n' >"$WH/Lib/os.py"
cat >"$W/matrix.ini" <<EOF
[win]
platform = windows-x86_64
python = 3.12.10
python-home = python312
index-url = $IDX/simple
packages = hello==2.0
env.WIN_ONLY = yes
EOF
t_run "$EM" apply -f "$W/matrix.ini"
WV="$W/.venv"
if [ "$T_RC" = 0 ] && [ -f "$WV/Scripts/python.exe" ] && cmp -s "$WV/Scripts/python.exe" "$WH/Lib/venv/scripts/nt/venvlauncher.exe" &&
	[ -f "$WV/Lib/site-packages/hello/__init__.py" ] && [ -f "$WV/Scripts/Activate.ps1" ] &&
	[ -f "$WV/Scripts/activate.bat" ] && [ -f "$WV/Scripts/deactivate.bat" ] && [ ! -e "$WV/bin" ]; then
	t_pass "windows target: Scripts\\python.exe is the venvlauncher, Lib\\site-packages, .ps1/.bat"
else
	t_fail "windows target" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cd "$WV" 2>/dev/null && find . | head -30)"
fi
grep -q "^home = $WH\$" "$WV/pyvenv.cfg" && grep -Eq "^version(_info)? = 3\.12\.10\$" "$WV/pyvenv.cfg" &&
	t_pass "windows pyvenv.cfg: home and version" || t_fail "windows pyvenv.cfg" "$(cat "$WV/pyvenv.cfg")"
ls "$WV/Scripts" | grep -q '^hello' && t_pass "windows launchers for console scripts" ||
	t_fail "windows launchers" "$(ls "$WV/Scripts")"
t_expect_err "run refuses a Windows venv on Linux" 1 "is a Windows one" -- "$EM" run -f "$W/matrix.ini" win -- python
sed -i '/^python-home/d' "$W/matrix.ini"
t_expect_err "a Windows target without python-home says what to set" 1 "set python-home" -- \
	"$EM" apply -f "$W/matrix.ini" --force

t_done
