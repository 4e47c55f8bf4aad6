#!/bin/sh
# test_pybuild.sh - interpreters on demand: `envmatrix python install|find|
# list` and planned downloads, from python-build-standalone-style archives
# that tests/tools/mkpybuild.py builds from this machine's own Python (the
# system python3 is enough; no pyenv needed), served from a folder
# (file://), a plain path and a loopback HTTP server (tests/tools/
# faultserver.py). envmatrix runs with a PATH that holds no interpreter and
# PYENV_ROOT pointed elsewhere, so what it finds is what it installed: the
# interpreter verified and unpacked, `python find`, a workload whose Python
# the machine lacks planned and applied with it, a wrong hash and escaping
# members refused, a second install a no-op, --offline from the cache, the
# minor link moving on a patch upgrade, a Windows target planned and built
# from Linux. The checks that need a second version use stand-in archives
# (mkpybuild.py standin) whose interpreter only answers envmatrix's
# question.
# shellcheck disable=SC1091 # sourced at run time: lib.sh, httpd.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$(dirname "$0")/../tools/httpd.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
MKPY="$top/tests/tools/mkpybuild.py"
MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
HTTPD_FAULTSERVER="$top/tests/tools/faultserver.py"
export HTTPD_FAULTSERVER
srv="$T_TMP/srv"
cleanup() {
	httpd_fault_stop "$srv" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# the Python the archives are made of: the system's, else the first
# python3 on PATH (a pyenv shim is followed to its interpreter); it also
# runs the tool
SRC=
for p in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
	if [ -n "$p" ] && [ -x "$p" ] &&
		SRC=$("$p" -I -S -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$SRC" ]; then
		break
	fi
	SRC=
done
TOOLPY=$SRC
# envmatrix's PATH: no interpreter at all
CLEAN="$T_TMP/clean-path"
mkdir -p "$CLEAN"
TRIPLE=x86_64-unknown-linux-gnu
[ "$(uname -m)" = aarch64 ] && TRIPLE=aarch64-unknown-linux-gnu
if [ -z "$SRC" ]; then
	t_skip "every check" "no python3 to build archives from (apt-get install python3)"
	t_done
	exit
fi

MIR="$T_TMP/mirror"
mkdir -p "$MIR"
if ! out=$("$TOOLPY" "$MKPY" build "$MIR" "$SRC" 2>"$T_TMP/mk.err"); then
	t_fail "an archive made of '$SRC'" "$(cat "$T_TMP/mk.err")"
	t_done
	exit
fi
V1=${out%% *}
M1=${V1%.*}
# a second version: a stand-in archive
V2=3.98.1 M2=3.98
"$TOOLPY" "$MKPY" standin "$MIR" "$V2" "$TRIPLE"
"$TOOLPY" "$MKPY" index "$MIR"
echo "# archives of $SRC ($V1) and a stand-in $V2: $(ls "$MIR" | tr '\n' ' ')"
ARCH="cpython-$V1+20250101-$TRIPLE-install_only.tar.gz"
SHA=$(sha256sum "$MIR/$ARCH" | cut -d' ' -f1)

# envmatrix in the clean environment; E sets its managed folder
em() {
	env -u ENVMATRIX_PYTHON_MIRROR PATH="$CLEAN" PYENV_ROOT="$T_TMP/nopyenv" HOME="$T_TMP/home" \
		UV_PYTHON_INSTALL_DIR="$T_TMP/nouv" XDG_DATA_HOME= ENVMATRIX_PYTHON_DIR="$E" \
		ENVMATRIX_CACHE_DIR="$T_TMP/cache" "$EM" "$@"
}
E="$T_TMP/py1"
LINK="$E/cpython-$M1-$TRIPLE"
INST="$E/cpython-$V1-$TRIPLE"

# ---- nothing yet ----
t_run em python find "$M1"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "no Python $M1 interpreter on this machine" &&
	printf '%s\n' "$T_ERR" | grep -q "envmatrix python install $M1"; then
	t_pass "python find: none here, exit 1 naming 'python install'"
else
	t_fail "python find before install" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- a wrong hash: refused, nothing installed ----
BAD="$T_TMP/bad"
mkdir -p "$BAD"
cp "$MIR/$ARCH" "$BAD/"
WRONG=0000000000000000000000000000000000000000000000000000000000000000
printf '%s  %s\n' "$WRONG" "$ARCH" >"$BAD/SHA256SUMS"
t_run em python install --mirror "$BAD" "$M1"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "$BAD/$ARCH" &&
	printf '%s\n' "$T_ERR" | grep -q "$SHA" && printf '%s\n' "$T_ERR" | grep -q "$WRONG" &&
	! ls "$E"/cpython-* >/dev/null 2>&1; then
	t_pass "a wrong archive hash is refused, naming the URL and both hashes"
else
	t_fail "wrong hash" "exit $T_RC" "$T_ERR" "$(ls -la "$E" 2>&1)"
fi

# ---- members escaping the tree: refused, nothing written ----
EVIL="$T_TMP/evil"
for kind in dotdot symlink absolute; do
	rm -rf "$EVIL" && mkdir -p "$EVIL/sub"
	"$TOOLPY" "$MKPY" evil "$EVIL/sub" "cpython-$M1.99+1-$TRIPLE-install_only.tar.gz" $kind
	"$TOOLPY" "$MKPY" index "$EVIL/sub"
	t_run em python install --mirror "file://$EVIL/sub" "$M1.99"
	case $kind in
	dotdot | absolute) pat="unsafe member name" ;;
	symlink) pat="symbolic link to '../../..', outside the installation" ;;
	esac
	if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "$pat" &&
		printf '%s\n' "$T_ERR" | grep -q "cpython-$M1.99" &&
		[ ! -e "$EVIL/escape" ] && [ ! -e "$E/escape" ] && ! ls -d "$E"/cpython-* "$E"/.*staging >/dev/null 2>&1; then
		t_pass "an archive with a $kind member is refused; nothing is left"
	else
		t_fail "evil archive ($kind)" "exit $T_RC" "$T_ERR" "$(ls -la "$E" 2>&1)"
	fi
done

# ---- an archive whose interpreter is not the version its name promises ----
LIE="$T_TMP/lie"
mkdir -p "$LIE"
# the same archive under another version's name
cp "$MIR/$ARCH" "$LIE/cpython-$M1.77+20250101-$TRIPLE-install_only.tar.gz"
"$TOOLPY" "$MKPY" index "$LIE"
t_run em python install --mirror "$LIE" "$M1.77"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "the interpreter is Python $V1, not $M1.77" &&
	! ls -a "$E" | grep -q "^cpython-\|staging"; then
	t_pass "an archive whose interpreter is another version is refused after unpacking; nothing kept"
else
	t_fail "lying archive" "exit $T_RC" "$T_ERR" "$(ls -la "$E")"
fi

# ---- install from a file:// mirror ----
t_run em python install --mirror "file://$MIR" "$M1"
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "installed Python $V1: $LINK/bin/python$M1" ] &&
	[ "$(readlink "$LINK")" = "cpython-$V1-$TRIPLE" ] && [ -f "$INST/.envmatrix-pybuild" ] &&
	grep -q "^sha256 $SHA\$" "$INST/.envmatrix-pybuild"; then
	t_pass "python install $M1 from file://: $V1 unpacked, marked, minor link made"
else
	t_fail "install from file://" "exit $T_RC" "$T_OUT" "$T_ERR" "$(ls -la "$E" 2>&1)"
fi
got=$("$LINK/bin/python$M1" -c 'import sys, ssl, json; print("%d.%d.%d" % sys.version_info[:3], sys.prefix)' 2>&1)
if [ "$got" = "$V1 $LINK" ] || [ "$got" = "$V1 $INST" ]; then
	t_pass "the installed interpreter runs: $got"
else
	t_fail "installed interpreter runs" "$got"
fi
# a shared libpython (pyenv's) is the installation's own; a static
# interpreter (Debian's) links none
ldd "$INST/bin/python$M1" | grep libpython >"$T_TMP/libpython"
if [ ! -s "$T_TMP/libpython" ] || grep -q "=> $INST/" "$T_TMP/libpython"; then
	t_pass "it loads no libpython from outside the installation"
else
	t_fail "own libpython" "$(cat "$T_TMP/libpython")"
fi
if head -1 "$INST/bin/pydoc$M1" 2>/dev/null | grep -qx "#!$INST/bin/python$M1" &&
	"$INST/bin/pydoc$M1" json.dumps >"$T_TMP/pydoc" 2>&1 && grep -q dumps "$T_TMP/pydoc"; then
	t_pass "bin/ scripts' #! lines point at the installation, and run"
else
	t_fail "shebangs rewritten" "$(head -1 "$INST/bin/pydoc$M1" 2>&1)" "$(tail -3 "$T_TMP/pydoc" 2>&1)"
fi

# ---- a second install is a no-op ----
ino=$(stat -c %i "$INST")
t_run em python install --mirror "file://$MIR" "$V1"
[ "$T_RC" = 0 ] && [ "$T_OUT" = "already installed Python $V1: $LINK/bin/python$M1" ] &&
	[ "$(stat -c %i "$INST")" = "$ino" ] &&
	t_pass "a second install is a no-op" || t_fail "second install" "exit $T_RC" "$T_OUT" "$T_ERR"

# ---- find and list ----
t_expect "python find $M1 prints the managed interpreter" 0 "$LINK/bin/python$M1" -- em python find "$M1"
t_run em python find --json "$V1"
if [ "$T_RC" = 0 ] && printf '%s' "$T_OUT" | grep -q '"managed": true' &&
	printf '%s' "$T_OUT" | grep -q "\"version\": \"$V1\""; then
	t_pass "python find --json marks it managed"
else
	t_fail "find --json" "$T_OUT" "$T_ERR"
fi
t_run em python list
printf '%s\n' "$T_OUT" | grep -q "^$V1 *cpython *envmatrix $LINK/bin/python$M1\$" &&
	t_pass "python list shows it (source envmatrix)" || t_fail "list" "$T_OUT" "$T_ERR"
t_run em python list --all --mirror "$MIR"
printf '%s\n' "$T_OUT" | grep -q "^$V1 *cpython *download $MIR/$ARCH (installed)\$" &&
	t_pass "python list --all adds the catalogue's builds, marking installed ones" ||
	t_fail "list --all" "$T_OUT" "$T_ERR"
t_run em python list --json --all --mirror "$MIR/catalogue.json"
printf '%s' "$T_OUT" | grep -q '"source": "download"' && printf '%s' "$T_OUT" | grep -q "\"sha256\": \"$SHA\"" &&
	t_pass "python list --json with a JSON catalogue" || t_fail "list --json" "$T_OUT" "$T_ERR"
# discovery asks each interpreter once: a second run starts none
t_run em python list
ls -l --time-style=full-iso "$T_TMP/cache/interpreters.json" >"$T_TMP/k1" 2>&1
t_run em python list
ls -l --time-style=full-iso "$T_TMP/cache/interpreters.json" >"$T_TMP/k2" 2>&1
grep -q "$INST/bin/python$M1" "$T_TMP/cache/interpreters.json" && cmp -s "$T_TMP/k1" "$T_TMP/k2" &&
	t_pass "the answers are kept (interpreters.json) and not rewritten when nothing changed" ||
	t_fail "kept answers" "$(cat "$T_TMP/k1" "$T_TMP/k2")"

# ---- the minor link moves on a patch upgrade ----
# stand-ins X.Y.0 and X.Y.1: installing X.Y.0, then X.Y, moves the link
UP="$T_TMP/up"
mkdir -p "$UP"
"$TOOLPY" "$MKPY" standin "$UP" 3.97.0 "$TRIPLE"
"$TOOLPY" "$MKPY" index "$UP"
E="$T_TMP/pyup"
t_run em python install --mirror "$UP" 3.97.0
old=$(readlink "$E/cpython-3.97-$TRIPLE")
"$TOOLPY" "$MKPY" standin "$UP" 3.97.1 "$TRIPLE"
"$TOOLPY" "$MKPY" index "$UP"
t_run em python install --mirror "$UP" 3.97
if [ "$T_RC" = 0 ] && [ "$old" = "cpython-3.97.0-$TRIPLE" ] &&
	[ "$(readlink "$E/cpython-3.97-$TRIPLE")" = "cpython-3.97.1-$TRIPLE" ] &&
	[ -d "$E/cpython-3.97.0-$TRIPLE" ]; then
	t_pass "installing 3.97.1 moves the minor link from 3.97.0 to it, keeping 3.97.0"
else
	t_fail "minor link upgrade" "exit $T_RC (first link: $old)" "$T_ERR" "$(ls -la "$E")"
fi
E="$T_TMP/py1"

# ---- a .tar.zst archive, through a JSON catalogue ----
if [ -f "$MIR/cpython-$V1+20250101-$TRIPLE-install_only.tar.zst" ]; then
	Z="$T_TMP/zst"
	mkdir -p "$Z"
	ln -s "$MIR/cpython-$V1+20250101-$TRIPLE-install_only.tar.zst" "$Z/"
	"$TOOLPY" "$MKPY" index "$Z"
	E="$T_TMP/pyz"
	t_run em python install --mirror "$Z/catalogue.json" "$V1"
	[ "$T_RC" = 0 ] && "$E/cpython-$M1-$TRIPLE/bin/python$M1" -c pass &&
		t_pass "a .tar.zst build from a JSON catalogue installs and runs" ||
		t_fail "zst" "exit $T_RC" "$T_OUT" "$T_ERR"
else
	t_skip "a .tar.zst build from a JSON catalogue installs and runs" "zstd is not installed (apt-get install zstd)"
fi

# ---- two installs of one version at once: one installs, the other waits ----
E="$T_TMP/pyc"
em python install --mirror "$MIR" "$V1" >"$T_TMP/c1" 2>&1 &
p1=$!
em python install --mirror "$MIR" "$V1" >"$T_TMP/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
if [ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$(cat "$T_TMP/c1" "$T_TMP/c2" | grep -c '^installed')" = 1 ] &&
	[ "$(cat "$T_TMP/c1" "$T_TMP/c2" | grep -c '^already installed')" = 1 ] &&
	[ "$(ls -a "$E" | grep -c staging)" = 0 ] && "$E/cpython-$M1-$TRIPLE/bin/python$M1" -c pass; then
	t_pass "two concurrent installs of $V1: one installs, the other finds it"
else
	t_fail "concurrent installs" "$(cat "$T_TMP/c1" "$T_TMP/c2")" "$(ls -la "$E")"
fi

# ---- two versions at once ----
E="$T_TMP/py2"
t_run em python install --mirror "$MIR" "$M1" "$V2"
[ "$T_RC" = 0 ] && [ -x "$E/cpython-$M1-$TRIPLE/bin/python$M1" ] &&
	[ -x "$E/cpython-$M2-$TRIPLE/bin/python$M2" ] &&
	t_pass "python install $M1 $V2 installs both" || t_fail "two versions" "$T_OUT" "$T_ERR"
t_expect "python find $M2 takes the second" 0 "$E/cpython-$M2-$TRIPLE/bin/python$M2" -- em python find "$M2"

# ---- a workload whose Python the machine lacks: planned and applied ----
IDX="$T_TMP/idx"
"$MKINDEX" "$top/tests/indexes/apply.spec" "$IDX" >/dev/null || t_fail "build the test index"
if ! httpd_fault_start "$T_TMP" "$srv" 2>"$T_TMP/srv.err"; then
	t_fail "the loopback HTTP server starts" "$(cat "$T_TMP/srv.err")"
	t_done
	exit
fi
URL="http://127.0.0.1:$HTTPD_FAULT_PORT/mirror"
LOG="$srv/fault.log"
E="$T_TMP/pyw"
W="$T_TMP/w"
mkdir -p "$W"
cat >"$W/matrix.ini" <<EOF
[matrix]
python-mirror = $URL/
index-url = $IDX/simple

[app]
python = $M1
packages = hello==2.0
EOF
t_run em plan -f "$W/matrix.ini"
if [ "$T_RC" = 0 ] && grep -qx "python = \"$V1\"" "$W/pylock.app.toml" &&
	grep -qx "python-url = \"$URL/$ARCH\"" "$W/pylock.app.toml" &&
	grep -qx "python-sha256 = \"$SHA\"" "$W/pylock.app.toml"; then
	t_pass "plan: python = $M1, none here: the download is planned and locked"
else
	t_fail "plan a download" "exit $T_RC" "$T_OUT" "$T_ERR" "$(grep python "$W/pylock.app.toml" 2>&1)"
fi
t_run em apply -f "$W/matrix.ini"
got=$("$W/.venv/bin/python" -c 'import sys, hello; print("%d.%d.%d" % sys.version_info[:3], hello.VERSION)' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "$V1 2.0" ] && [ -d "$E/cpython-$V1-$TRIPLE" ] &&
	grep -qx "home = $E/cpython-$M1-$TRIPLE/bin" "$W/.venv/pyvenv.cfg" &&
	grep -q "GET /mirror/$ARCH" "$LOG"; then
	t_pass "apply: the build is downloaded over HTTP, installed, and the venv runs $V1 through the minor link"
else
	t_fail "apply with a downloaded Python" "exit $T_RC" "$T_OUT" "$T_ERR" "venv: $got" "$(cat "$W/.venv/pyvenv.cfg" 2>&1)"
fi
# a re-plan keeps the lock: the managed interpreter carries its archive
cp "$W/pylock.app.toml" "$T_TMP/lock1"
t_run em plan -f "$W/matrix.ini"
[ "$T_RC" = 0 ] && cmp -s "$W/pylock.app.toml" "$T_TMP/lock1" &&
	t_pass "planning again with the build installed leaves the lock as it is" ||
	t_fail "re-plan" "$T_ERR" "$(diff "$T_TMP/lock1" "$W/pylock.app.toml")"
# offline: the interpreter removed, the archive comes from the cache
rm -rf "$E"
n0=$(grep -c "GET /mirror/$ARCH" "$LOG")
t_run em apply -f "$W/matrix.ini" --frozen --offline --force
got=$("$W/.venv/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "$V1" ] && [ "$(grep -c "GET /mirror/$ARCH" "$LOG")" = "$n0" ]; then
	t_pass "apply --frozen --offline reinstalls the interpreter from the cache"
else
	t_fail "offline re-apply" "exit $T_RC" "$T_ERR" "$got"
fi
E="$T_TMP/pyoff"
t_run em python install --offline --mirror "$URL/" "$M1"
[ "$T_RC" = 0 ] && [ -x "$E/cpython-$M1-$TRIPLE/bin/python$M1" ] &&
	t_pass "python install --offline: the kept catalogue and the cached archive" ||
	t_fail "install --offline" "exit $T_RC" "$T_ERR"
E="$T_TMP/pyoff2"
t_run em python install --offline --mirror "http://127.0.0.1:$HTTPD_FAULT_PORT/nothing-here/" "$M1"
[ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "nothing-here/SHA256SUMS" &&
	t_pass "--offline without a kept catalogue fails, naming it" || t_fail "offline, no catalogue" "$T_ERR"

# an exact version planned without a mirror (nothing recorded in the
# lock): apply takes it from the catalogue on demand
em_mirror() {
	env PATH="$CLEAN" PYENV_ROOT="$T_TMP/nopyenv" HOME="$T_TMP/home" \
		UV_PYTHON_INSTALL_DIR="$T_TMP/nouv" XDG_DATA_HOME= ENVMATRIX_PYTHON_DIR="$E" \
		ENVMATRIX_CACHE_DIR="$T_TMP/cache" ENVMATRIX_PYTHON_MIRROR="$URL/" "$EM" "$@"
}
E="$T_TMP/pyod"
W2="$T_TMP/w2"
mkdir -p "$W2"
printf '[matrix]\nindex-url = %s/simple\n\n[app]\npython = %s\npackages = hello==2.0\n' "$IDX" "$V1" >"$W2/matrix.ini"
t_run em plan -f "$W2/matrix.ini"
if [ "$T_RC" = 0 ] && ! grep -q '^python-url' "$W2/pylock.app.toml"; then
	t_run em_mirror apply -f "$W2/matrix.ini" --frozen
	got=$("$W2/.venv/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>&1)
	[ "$T_RC" = 0 ] && [ "$got" = "$V1" ] && [ -d "$E/cpython-$V1-$TRIPLE" ] &&
		t_pass "apply: an exact python the lock does not record is installed on demand from the catalogue" ||
		t_fail "on-demand python" "exit $T_RC" "$T_OUT" "$T_ERR" "venv: $got"
else
	t_fail "plan an exact version without a mirror" "exit $T_RC" "$T_ERR" "$(grep python "$W2/pylock.app.toml" 2>&1)"
fi
# an exact version the catalogue lacks: apply says so, and how to go on
printf '[matrix]\nindex-url = %s/simple\n\n[app]\npython = %s.77\npackages = hello==2.0\n' "$IDX" "$M1" >"$W2/matrix.ini"
t_run em plan -f "$W2/matrix.ini"
t_run em_mirror apply -f "$W2/matrix.ini" --frozen
[ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "envmatrix python install $M1.77" &&
	printf '%s\n' "$T_ERR" | grep -q "has no Python $M1.77 build" &&
	t_pass "an exact version that is nowhere: apply names the catalogue and says how to install it" ||
	t_fail "exact, nowhere" "$T_ERR"

# ---- a Windows target planned and built from Linux ----
"$TOOLPY" "$MKPY" fakewin "$MIR" 3.12.10
"$TOOLPY" "$MKPY" index "$MIR"
E="$T_TMP/pywin"
WW="$T_TMP/win"
mkdir -p "$WW"
cat >"$WW/matrix.ini" <<EOF
[matrix]
python-mirror = $URL/SHA256SUMS
index-url = $IDX/simple

[win]
platform = windows-x86_64
python = 3.12
packages = hello==2.0
EOF
t_run em apply -f "$WW/matrix.ini"
WV="$WW/.venv"
if [ "$T_RC" = 0 ] && grep -q "python-url = \".*x86_64-pc-windows-msvc-install_only.tar.gz\"" "$WW/pylock.win.toml" &&
	[ -f "$WV/Scripts/python.exe" ] &&
	cmp -s "$WV/Scripts/python.exe" "$E/cpython-3.12.10-x86_64-pc-windows-msvc/Lib/venv/scripts/nt/venvlauncher.exe" &&
	[ -f "$WV/Lib/site-packages/hello/__init__.py" ]; then
	t_pass "windows target: the windows build is planned, unpacked (not run), and its venvlauncher used"
else
	t_fail "windows target" "exit $T_RC" "$T_OUT" "$T_ERR" "$(grep python "$WW/pylock.win.toml" 2>&1)"
fi

t_done
