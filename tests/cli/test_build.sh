#!/bin/sh
# test_build.sh - `envmatrix build`: sdists (made here with tar) and source
# folders built into wheels through real PEP 517 backends and real
# interpreters, offline: a tiny in-tree backend (backend-path, no
# requirements) that writes a wheel with zipfile, and real setuptools
# from the interpreters' ensurepip folders with Debian's wheel package
# (python3-wheel-whl), served through --find-links. Checks: the in-tree
# build and its cached second build (the backend does not run again),
# get_requires_for_build_wheel adding a requirement, a backend that fails
# (package, hook, log tail, kept log), one that hangs (--timeout), one that
# cannot be imported, an sdist with a '../' member refused, a pyproject
# [project] and a setup.py-only sdist with setuptools on two Pythons, a
# source folder left untouched, --no-isolation.
# shellcheck disable=SC1091 # sourced at run time
. "$(dirname "$0")/lib.sh"

W="$T_TMP/work"
mkdir -p "$W" "$W/empty"
cd "$W" || exit 1
MARK="$T_TMP/calls"
: >"$MARK"
# the interpreter itself, not a wrapper (a pyenv shim) in front of it
HOSTPY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [ -z "$HOSTPY" ]; then
	t_skip "every build" "no python3 on PATH (apt-get install python3)"
	t_done
	exit $?
fi

# mk_tiny NAME VERSION MODE: an sdist NAME-VERSION.tar.gz whose in-tree
# backend (backend/tinyback.py, no requirements) builds a pure wheel;
# MODE: ok, fail (raises), hang (sleeps), requires (asks for extra-dep in
# get_requires_for_build_wheel and imports it while building), missing
# (names a backend that does not exist)
mk_tiny() {
	d="$W/src/$1-$2"
	rm -rf "$d"
	mkdir -p "$d/backend"
	backend=tinyback
	[ "$3" = missing ] && backend=no_such_backend
	cat >"$d/pyproject.toml" <<TOML
[build-system]
requires = []
build-backend = "$backend"
backend-path = ["backend"]
TOML
	cat >"$d/backend/tinyback.py" <<PY
import base64, hashlib, os, sys, time, zipfile
NAME, VERSION, MODE = "$1", "$2", "$3"

def _rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))

def get_requires_for_build_wheel(config_settings=None):
    return ["extra-dep>=1.0"] if MODE == "requires" else []

if MODE == "meta":
    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        with open("$MARK", "a") as f:
            f.write("%s-%s prepare\n" % (NAME, VERSION))
        di = "%s-%s.dist-info" % (NAME.replace("-", "_"), VERSION)
        os.mkdir(os.path.join(metadata_directory, di))
        with open(os.path.join(metadata_directory, di, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Dist: prepared\n" % (NAME, VERSION))
        return di

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("$MARK", "a") as f:
        f.write("%s-%s %s\n" % (NAME, VERSION, sorted((config_settings or {}).items())))
    print("tinyback: building %s %s" % (NAME, VERSION))
    if MODE == "fail":
        print("tinyback: failing on purpose")
        sys.stdout.flush()
        raise RuntimeError("the tiny backend fails")
    if MODE == "hang":
        time.sleep(300)
    if MODE == "requires":
        import extra_dep
        print("tinyback: extra_dep", extra_dep.VALUE)
    mod = NAME.replace("-", "_")
    di = "%s-%s.dist-info" % (mod, VERSION)
    files = {
        mod + "/__init__.py": b"VALUE = 42\n",
        di + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)).encode(),
        di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: tinyback\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rec = "".join("%s,%s\n" % (k, _rec(v)) for k, v in files.items()) + di + "/RECORD,,\n"
    name = "%s-%s-py3-none-any.whl" % (mod, VERSION)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr(di + "/RECORD", rec)
    return name
PY
	(cd "$W/src" && tar czf "$W/$1-$2.tar.gz" "$1-$2")
}

# the wheel extra-dep that mk_tiny's "requires" mode asks for
mkdir -p "$W/fl-extra"
"$HOSTPY" - "$W/fl-extra" <<'PY'
import base64, hashlib, os, sys, zipfile
def rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))
di = "extra_dep-1.0.dist-info"
files = {"extra_dep.py": b"VALUE = 'extra'\n",
         di + "/METADATA": b"Metadata-Version: 2.1\nName: extra-dep\nVersion: 1.0\n",
         di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
with zipfile.ZipFile(os.path.join(sys.argv[1], "extra_dep-1.0-py3-none-any.whl"), "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
    z.writestr(di + "/RECORD", "".join("%s,%s\n" % (k, rec(v)) for k, v in files.items()) + di + "/RECORD,,\n")
PY

# wheel_has WHEEL MEMBER
wheel_has() {
	"$HOSTPY" -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' "$1" "$2"
}

calls() { grep -c "^$1 " "$MARK"; }

# ---- the in-tree backend, with the host's python3 ----
mk_tiny tiny 1.0 ok
t_run "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -o "$W/out" tiny-1.0.tar.gz
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "$W/out/tiny-1.0-py3-none-any.whl" ] &&
	wheel_has "$T_OUT" tiny/__init__.py && [ "$(calls tiny-1.0)" = 1 ]; then
	t_pass "an in-tree backend (backend-path, no requirements) builds the sdist's wheel into -o"
else
	t_fail "in-tree build" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR" "calls: $(cat "$MARK")"
fi

rm -rf "$W/out"
t_run "$EM" -v build --no-index --find-links "$W/empty" --python "$HOSTPY" -o "$W/out" tiny-1.0.tar.gz
if [ "$T_RC" = 0 ] && [ -f "$W/out/tiny-1.0-py3-none-any.whl" ] && [ "$(calls tiny-1.0)" = 1 ] &&
	printf '%s\n' "$T_ERR" | grep -q '^cached tiny 1.0'; then
	t_pass "a second build of the same sdist comes from the cache (the backend does not run)"
else
	t_fail "cached build" "exit $T_RC" "stderr: $T_ERR" "calls: $(cat "$MARK")"
fi

t_run "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -C mode=fast -o "$W/out" tiny-1.0.tar.gz
if [ "$T_RC" = 0 ] && [ "$(calls tiny-1.0)" = 2 ] && grep -q "tiny-1.0 \[('mode', 'fast')\]" "$MARK"; then
	t_pass "--config-setting reaches the backend, and other settings are another cached build"
else
	t_fail "config settings" "exit $T_RC" "stderr: $T_ERR" "calls: $(cat "$MARK")"
fi

# the default output folder is the current one
(cd "$W/empty" && "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" ../tiny-1.0.tar.gz >"$T_TMP/o" 2>&1)
if [ -f "$W/empty/tiny-1.0-py3-none-any.whl" ] && [ "$(cat "$T_TMP/o")" = "$W/empty/tiny-1.0-py3-none-any.whl" ]; then
	t_pass "without -o the wheel goes to the current folder (as pip wheel)"
	rm -f "$W/empty/tiny-1.0-py3-none-any.whl"
else
	t_fail "default output folder" "$(cat "$T_TMP/o")"
fi

cp tiny-1.0.tar.gz renamed-2.0.tar.gz
t_expect_err "a wheel that is not the sdist's project and version is refused" 1 \
	"renamed-2.0: the backend built 'tiny-1.0-py3-none-any.whl', which is not renamed 2.0" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -o "$W/out" renamed-2.0.tar.gz

# ---- get_requires_for_build_wheel adds a requirement ----
mk_tiny needy 1.0 requires
t_run "$EM" build --no-index --find-links "$W/fl-extra" --python "$HOSTPY" -o "$W/out" needy-1.0.tar.gz
if [ "$T_RC" = 0 ] && [ -f "$W/out/needy-1.0-py3-none-any.whl" ]; then
	t_pass "what get_requires_for_build_wheel asks for is resolved from find-links and installed"
else
	t_fail "get_requires_for_build_wheel" "exit $T_RC" "stderr: $T_ERR"
fi
t_expect_err "a requirement the indexes lack fails naming it" 1 "extra-dep" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -C x=1 -o "$W/out" needy-1.0.tar.gz

# ---- metadata for planning ----
mk_tiny meta 1.0 meta
t_run "$EM" build --metadata --no-index --find-links "$W/empty" --python "$HOSTPY" meta-1.0.tar.gz
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^Requires-Dist: prepared' &&
	[ "$(calls meta-1.0)" = 1 ] && grep -q '^meta-1.0 prepare' "$MARK"; then
	t_pass "--metadata runs prepare_metadata_for_build_wheel, not a build"
else
	t_fail "--metadata with the hook" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR" "calls: $(cat "$MARK")"
fi
t_run "$EM" build --metadata --no-index --find-links "$W/empty" --python "$HOSTPY" meta-1.0.tar.gz
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^Requires-Dist: prepared' && [ "$(calls meta-1.0)" = 1 ]; then
	t_pass "prepared metadata is cached by the sdist's sha256 and the Python"
else
	t_fail "cached metadata" "exit $T_RC" "stderr: $T_ERR" "calls: $(cat "$MARK")"
fi
mk_tiny nometa 1.0 ok
t_run "$EM" -v build --metadata --no-index --find-links "$W/empty" --python "$HOSTPY" nometa-1.0.tar.gz
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^Name: nometa' && [ "$(calls nometa-1.0)" = 1 ] &&
	printf '%s\n' "$T_ERR" | grep -q 'no prepare_metadata_for_build_wheel'; then
	t_run "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -o "$W/out" nometa-1.0.tar.gz
	if [ "$T_RC" = 0 ] && [ "$(calls nometa-1.0)" = 1 ]; then
		t_pass "without prepare_metadata_for_build_wheel, --metadata builds the wheel, which is then cached"
	else
		t_fail "wheel built for metadata not cached" "exit $T_RC" "calls: $(cat "$MARK")"
	fi
else
	t_fail "--metadata without the hook" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
fi

# ---- failures ----
mk_tiny broken 1.0 fail
t_run "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -o "$W/out" broken-1.0.tar.gz
log=$(printf '%s\n' "$T_ERR" | sed -n "s/.*the full log is in '\([^']*\)'.*/\1/p")
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "broken-1.0: build_wheel: the backend 'tinyback' failed" &&
	printf '%s\n' "$T_ERR" | grep -q "RuntimeError: the tiny backend fails" &&
	[ -n "$log" ] && grep -q "tinyback: failing on purpose" "$log" && [ ! -e "$W/out/broken-1.0-py3-none-any.whl" ]; then
	t_pass "a failing backend: the error names the package, the hook and the log's last lines; the full log is kept in the cache"
else
	t_fail "failing backend" "exit $T_RC" "stderr: $T_ERR" "log: $log"
fi

mk_tiny sleepy 1.0 hang
start=$(date +%s)
t_run "$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" --timeout 2 -o "$W/out" sleepy-1.0.tar.gz
took=$(($(date +%s) - start))
if [ "$T_RC" = 1 ] && [ "$took" -lt 60 ] && printf '%s\n' "$T_ERR" | grep -q "sleepy-1.0: build_wheel: timed out after 2 s"; then
	t_pass "a hanging backend is stopped at --timeout"
else
	t_fail "hanging backend" "exit $T_RC after ${took}s" "stderr: $T_ERR"
fi
ENVMATRIX_BUILD_TIMEOUT=1 t_expect_err "ENVMATRIX_BUILD_TIMEOUT sets the timeout" 1 "timed out after 1 s" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" -C again=1 sleepy-1.0.tar.gz

mk_tiny nobackend 1.0 missing
t_expect_err "a backend that cannot be imported is named" 1 \
	"nobackend-1.0: get_requires_for_build_wheel: the build backend 'no_such_backend' is not available" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" nobackend-1.0.tar.gz

left=$(find "$ENVMATRIX_CACHE_DIR/tmp" -mindepth 1 -maxdepth 1 -name 'build-*' 2>/dev/null)
if [ -z "$left" ]; then
	t_pass "every temporary build folder is removed, failed builds' too"
else
	t_fail "temporary build folders left" "$left"
fi

# ---- unsafe archives ----
"$HOSTPY" - "$W/evil-1.0.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name in ("evil-1.0/pyproject.toml", "evil-1.0/../../escaped.txt"):
        data = b"x = 1\n"
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
t_expect_err "an sdist member with '..' is refused before anything is built" 1 "evil-1.0.tar.gz.*'\.\./\.\./escaped.txt'\|evil-1.0.tar.gz.*escaped" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" evil-1.0.tar.gz
if [ -z "$(find "$ENVMATRIX_CACHE_DIR" "$W" -name escaped.txt)" ]; then
	t_pass "nothing of the unsafe sdist was written outside its folder"
else
	t_fail "escaped.txt was written" "$(find "$ENVMATRIX_CACHE_DIR" "$W" -name escaped.txt)"
fi
"$HOSTPY" - "$W/link-1.0.tar.gz" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    ti = tarfile.TarInfo("link-1.0/pyproject.toml")
    ti.type = tarfile.SYMTYPE
    ti.linkname = "../../../etc/passwd"
    t.addfile(ti)
PY
t_expect_err "an sdist with a link out of its tree is refused" 1 "symbolic link to '../../../etc/passwd'" -- \
	"$EM" build --no-index --find-links "$W/empty" --python "$HOSTPY" link-1.0.tar.gz

# ---- --no-isolation ----
mk_tiny plain 2.0 ok
t_run "$EM" build --no-isolation --python "$HOSTPY" -o "$W/out" plain-2.0.tar.gz
if [ "$T_RC" = 0 ] && [ -f "$W/out/plain-2.0-py3-none-any.whl" ] &&
	[ -z "$(find "$ENVMATRIX_CACHE_DIR/tmp" -mindepth 1 -maxdepth 1 -name 'built-*')" ]; then
	t_pass "--no-isolation runs the backend with the interpreter as it is"
else
	t_fail "--no-isolation" "exit $T_RC" "stderr: $T_ERR"
fi
t_expect_err "--no-isolation needs --python" 2 "needs --python" -- "$EM" build --no-isolation plain-2.0.tar.gz

# ---- real setuptools, on two Pythons ----
WHEELWHL=$(ls /usr/share/python-wheels/wheel-*.whl 2>/dev/null | head -n 1)
PYENV_ROOT_DIR=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
pythons=""
for v in 3.11 3.10 3.12 3.9 3.13 3.8; do
	for p in "$PYENV_ROOT_DIR"/versions/"$v".*/bin/python"$v"; do
		[ -x "$p" ] || continue
		st=$(ls "$(dirname "$p")"/../lib/python"$v"/ensurepip/_bundled/setuptools-*.whl 2>/dev/null | head -n 1)
		[ -n "$st" ] || continue
		pythons="$pythons $p"
		mkdir -p "$W/fl-$v"
		cp "$st" "$W/fl-$v/"
		[ -n "$WHEELWHL" ] && cp "$WHEELWHL" "$W/fl-$v/"
		break
	done
	[ "$(echo $pythons | wc -w)" -ge 2 ] && break
done

mkdir -p "$W/src/st-0.1/st" "$W/src/legacy-0.2"
cat >"$W/src/st-0.1/pyproject.toml" <<'TOML'
[build-system]
requires = ["setuptools>=40.8.0", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "st"
version = "0.1"
TOML
echo 'X = 1' >"$W/src/st-0.1/st/__init__.py"
cat >"$W/src/legacy-0.2/setup.py" <<'PY'
from setuptools import setup
setup(name="legacy", version="0.2", py_modules=["legacy"])
PY
echo 'Y = 2' >"$W/src/legacy-0.2/legacy.py"
(cd "$W/src" && tar czf "$W/st-0.1.tar.gz" st-0.1 && tar czf "$W/legacy-0.2.tar.gz" legacy-0.2)

if [ -z "$WHEELWHL" ]; then
	t_skip "setuptools builds" "no /usr/share/python-wheels/wheel-*.whl (apt-get install python3-wheel-whl)"
elif [ -z "$pythons" ]; then
	t_skip "setuptools builds" "no pyenv interpreter with an ensurepip setuptools in $PYENV_ROOT_DIR/versions"
else
	n=0
	for p in $pythons; do
		n=$((n + 1))
		v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
		t_run "$EM" build --no-index --find-links "$W/fl-$v" --python "$p" -o "$W/out-$v" st-0.1.tar.gz
		if [ "$T_RC" = 0 ] && [ "$T_OUT" = "$W/out-$v/st-0.1-py3-none-any.whl" ] && wheel_has "$T_OUT" st/__init__.py; then
			t_pass "Python $v: a pyproject.toml [project] sdist built by the real setuptools"
		else
			t_fail "Python $v: setuptools pyproject build" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
		fi
		t_run "$EM" build --no-index --find-links "$W/fl-$v" --python "$p" -o "$W/out-$v" legacy-0.2.tar.gz
		if [ "$T_RC" = 0 ] && [ "$T_OUT" = "$W/out-$v/legacy-0.2-py3-none-any.whl" ] && wheel_has "$T_OUT" legacy.py; then
			t_pass "Python $v: a setup.py-only sdist built with the legacy backend (setuptools>=40.8.0)"
		else
			t_fail "Python $v: legacy setup.py build" "exit $T_RC" "stdout: $T_OUT" "stderr: $T_ERR"
		fi
	done
	[ "$n" -lt 2 ] && t_skip "setuptools builds on a second Python" "only one pyenv interpreter with an ensurepip setuptools"
	# a source folder is copied: the build writes nothing into it
	p=$(echo $pythons | cut -d' ' -f1)
	v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	before=$(cd "$W/src/st-0.1" && find . | sort)
	t_run "$EM" build --no-index --find-links "$W/fl-$v" --python "$p" -o "$W/out-dir" "$W/src/st-0.1"
	after=$(cd "$W/src/st-0.1" && find . | sort)
	if [ "$T_RC" = 0 ] && [ -f "$W/out-dir/st-0.1-py3-none-any.whl" ] && [ "$before" = "$after" ]; then
		t_pass "a source folder builds, and the build writes nothing into it"
	else
		t_fail "source folder build" "exit $T_RC" "stderr: $T_ERR" "before: $before" "after: $after"
	fi
	envs=$(ls "$ENVMATRIX_CACHE_DIR/build-envs" | wc -l)
	t_run "$EM" build --no-index --find-links "$W/fl-$v" --python "$p" -o "$W/out-dir" "$W/src/st-0.1"
	if [ "$T_RC" = 0 ] && [ "$(ls "$ENVMATRIX_CACHE_DIR/build-envs" | wc -l)" = "$envs" ]; then
		t_pass "builds needing the same requirements share one build environment"
	else
		t_fail "shared build environment" "exit $T_RC" "$(ls "$ENVMATRIX_CACHE_DIR/build-envs")"
	fi
fi

t_done
