#!/bin/sh
# test_sdist_apply.sh - apply with sdists (issue 13): a workload whose lock
# holds an sdist-only package is applied by building the sdist into a wheel
# (an in-tree backend that writes the wheel with zipfile, so no setuptools
# is needed) and installing it beside a wheel package it depends on; a
# second workload and apply --force take the built wheel from the cache;
# rollback; an sdist with dynamic metadata planned through the metadata
# hook (prepare_metadata_for_build_wheel); a failing backend leaves the
# environment as it was; a Windows workload's sdist is not built on Linux;
# no-build refuses at plan; status names what was built from source.
# shellcheck disable=SC1091 # sourced at run time
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
IDX="$T_TMP/idx"
FL="$T_TMP/fl"
SRC="$T_TMP/src"
M="$T_TMP/m"
MARK="$T_TMP/calls"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
mkdir -p "$FL" "$SRC" "$M"
: >"$MARK"

t_need_cpython

cat >"$T_TMP/idx.spec" <<'EOF'
index simple format=both
  package greet
    wheel py3-none-any
    version 1.0
      file greet/__init__.py "def greeting():\n    return 'hello'\n"
EOF
"$MKINDEX" "$T_TMP/idx.spec" "$IDX" >/dev/null || { t_fail "build the test index"; t_done; exit 1; }

# mk_sdist NAME MODE: NAME-1.0.tar.gz in the find-links folder, with a
# PKG-INFO 2.2 that requires greet (MODE dyn: Requires-Dist is Dynamic) and
# an in-tree backend (backend-path, no requirements); MODE fail: build_wheel
# raises. Every hook call is written to $MARK.
mk_sdist() {
	d="$SRC/$1-1.0"
	rm -rf "$d"
	mkdir -p "$d/backend"
	if [ "$2" = dyn ]; then
		printf 'Metadata-Version: 2.2\nName: %s\nVersion: 1.0\nDynamic: Requires-Dist\n\n' "$1" >"$d/PKG-INFO"
	else
		printf 'Metadata-Version: 2.2\nName: %s\nVersion: 1.0\nRequires-Dist: greet>=1\n\n' "$1" >"$d/PKG-INFO"
	fi
	cat >"$d/pyproject.toml" <<TOML
[build-system]
requires = []
build-backend = "tinyback"
backend-path = ["backend"]
TOML
	cat >"$d/backend/tinyback.py" <<PY
import base64, hashlib, os, sys, zipfile
NAME, MODE = "$1", "$2"
META = "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\nRequires-Dist: greet>=1\n" % NAME

def _rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))

def _mark(what):
    with open("$MARK", "a") as f:
        f.write("%s %s\n" % (NAME, what))

if MODE == "dyn":
    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        _mark("prepare")
        di = "%s-1.0.dist-info" % NAME
        os.mkdir(os.path.join(metadata_directory, di))
        with open(os.path.join(metadata_directory, di, "METADATA"), "w") as f:
            f.write(META)
        return di

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _mark("build")
    print("tinyback: building", NAME)
    if MODE == "fail":
        print("tinyback: failing on purpose")
        sys.stdout.flush()
        raise RuntimeError("the tiny backend fails")
    di = "%s-1.0.dist-info" % NAME
    files = {
        NAME + "/__init__.py": b"import greet\nVALUE = greet.greeting() + ' from source'\n",
        di + "/METADATA": META.encode(),
        di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: tinyback\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rec = "".join("%s,%s\n" % (k, _rec(v)) for k, v in files.items()) + di + "/RECORD,,\n"
    name = "%s-1.0-py3-none-any.whl" % NAME
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr(di + "/RECORD", rec)
    return name
PY
	(cd "$SRC" && tar czf "$FL/$1-1.0.tar.gz" "$1-1.0")
}
mk_sdist fromsrc ok
mk_sdist dynsrc dyn
mk_sdist badsrc fail
calls() { grep -c "^$1 $2\$" "$MARK"; }

write_matrix() { # ONE_PACKAGES...
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
find-links = $FL
python = $V1

[one]
path = one
packages =
$(for p in "$@"; do printf '    %s\n' "$p"; done)

[two]
path = two
packages =
    fromsrc

[dyn]
path = dyn
packages =
    dynsrc
EOF
}
write_matrix fromsrc
ONE="$M/one/.venv"
TWO="$M/two/.venv"
DYN="$M/dyn/.venv"

# ---- apply builds the sdist and installs it ----
t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^one  *built ' &&
	printf '%s\n' "$T_OUT" | grep -q '^two  *built ' &&
	printf '%s\n' "$T_OUT" | grep -q '^dyn  *built '; then
	t_pass "apply builds workloads whose locks hold sdist-only packages"
else
	t_fail "apply with sdists" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
if grep -q '^\[packages.sdist\]\|^sdist = ' "$M/pylock.one.toml" 2>/dev/null ||
	grep -q 'fromsrc-1.0.tar.gz' "$M/pylock.one.toml" 2>/dev/null; then
	t_pass "the lock records the sdist"
else
	t_fail "the lock records the sdist" "$(cat "$M/pylock.one.toml" 2>/dev/null)"
fi
t_run "$ONE/bin/python" -c 'import fromsrc; print(fromsrc.VALUE)'
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "hello from source" ] &&
	[ -f "$ONE"/lib/python3*/site-packages/fromsrc-1.0.dist-info/RECORD ]; then
	t_pass "the built package imports in the environment, with its dependency, and has its RECORD"
else
	t_fail "the built package imports" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
if [ "$(calls fromsrc build)" = 1 ]; then
	t_pass "a second workload using the same sdist takes the built wheel from the cache"
else
	t_fail "one build for two workloads" "$(cat "$MARK")"
fi

# ---- dynamic metadata: planned through prepare_metadata_for_build_wheel ----
t_run "$DYN/bin/python" -c 'import dynsrc, greet; print(dynsrc.VALUE)'
if [ "$T_RC" = 0 ] && [ "$(calls dynsrc prepare)" = 1 ] && [ "$(calls dynsrc build)" = 1 ] &&
	grep -q 'name = "greet"' "$M/pylock.dyn.toml"; then
	t_pass "an sdist with dynamic Requires-Dist is planned through the metadata hook and applied"
else
	t_fail "dynamic metadata" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$MARK")"
fi
t_run "$EM" plan -f "$M/matrix.ini" dyn
if [ "$T_RC" = 0 ] && [ "$(calls dynsrc prepare)" = 1 ]; then
	t_pass "planning again takes the prepared metadata from the cache"
else
	t_fail "prepared metadata cached" "exit $T_RC" "$T_ERR" "$(cat "$MARK")"
fi

# ---- apply --force does not build again ----
t_run "$EM" apply --force -f "$M/matrix.ini" one
if [ "$T_RC" = 0 ] && [ "$(calls fromsrc build)" = 1 ] &&
	"$ONE/bin/python" -c 'import fromsrc' 2>/dev/null; then
	t_pass "apply --force installs the cached built wheel without building"
else
	t_fail "apply --force rebuilds" "exit $T_RC" "$T_ERR" "$(cat "$MARK")"
fi

# ---- status names what was built from source ----
t_run "$EM" status --json -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '"built_from_source"' &&
	printf '%s\n' "$T_OUT" | grep -q '"fromsrc"'; then
	t_pass "status --json lists the packages built from source"
else
	t_fail "status built_from_source" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" status -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^one: 1 package built from source: fromsrc$' &&
	! printf '%s\n' "$T_OUT" | grep -q '^two:.*built from source: .*dynsrc'; then
	t_pass "status says which packages were built from source"
else
	t_fail "status text built from source" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- a failing build fails the workload and leaves the environment ----
before=$(cd "$ONE" && find . -printf '%y %s %p\n' | sort | sha256sum)
write_matrix fromsrc badsrc
t_run "$EM" apply -f "$M/matrix.ini" one
after=$(cd "$ONE" && find . -printf '%y %s %p\n' | sort | sha256sum)
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q 'badsrc' &&
	printf '%s\n' "$T_ERR" | grep -q 'build_wheel' &&
	printf '%s\n' "$T_ERR" | grep -q 'failing on purpose' && [ "$before" = "$after" ] &&
	[ ! -e "$ONE.envmatrix-staging" ]; then
	t_pass "a failing backend fails apply naming the package, the hook and the log, environment untouched"
else
	t_fail "failing build" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- rollback ----
write_matrix fromsrc
mk_sdist newsrc ok
write_matrix newsrc
t_run "$EM" apply -f "$M/matrix.ini" one
t_run2=$T_RC
t_run "$EM" rollback -f "$M/matrix.ini" one
if [ "$t_run2" = 0 ] && [ "$T_RC" = 0 ] && "$ONE/bin/python" -c 'import fromsrc' 2>/dev/null &&
	! "$ONE/bin/python" -c 'import newsrc' 2>/dev/null; then
	t_pass "rollback returns to the environment with the first built package"
else
	t_fail "rollback" "apply $t_run2, rollback $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- a Windows workload: planned here, its sdist never built here ----
cat >"$T_TMP/win.ini" <<EOF
[matrix]
index-url = $IDX/simple
find-links = $FL
platform = windows-x86_64
python = $V1

[win]
path = win
packages =
    fromsrc
EOF
t_run "$EM" plan -f "$T_TMP/win.ini"
if [ "$T_RC" = 0 ]; then
	t_pass "a Windows workload with a static sdist plans on Linux"
else
	t_fail "windows plan" "exit $T_RC" "$T_ERR"
fi
t_run "$EM" apply --frozen -f "$T_TMP/win.ini"
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q "cannot build 'fromsrc' 1.0 for windows-x86_64 on this host"; then
	t_pass "apply refuses to build a Windows workload's sdist on Linux"
else
	t_fail "windows apply" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
sed -i 's/^    fromsrc$/    dynsrc/' "$T_TMP/win.ini"
t_run "$EM" plan -f "$T_TMP/win.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_ERR" | grep -q "assuming it is the same on windows-x86_64"; then
	t_pass "dynamic metadata for a Windows workload is prepared here, with a warning"
else
	t_fail "windows dynamic metadata" "exit $T_RC" "$T_ERR"
fi

# ---- no-build refuses at plan ----
sed -i '/^\[one\]$/a no-build = true' "$M/matrix.ini"
t_run "$EM" plan -f "$M/matrix.ini" one
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_OUT$T_ERR" | grep -q 'newsrc'; then
	t_pass "no-build refuses the sdist at plan"
else
	t_fail "no-build" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

t_done
