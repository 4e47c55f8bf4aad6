#!/bin/sh
# test_build_knobs.sh - the matrix's build keys (issue 13 item 4), applied
# and through 'envmatrix build -f': config-settings.PKG reach the backend;
# build-requires.PKG adds a requirement (from find-links) that the backend
# imports; build-constraints picks the older of two versions of it;
# no-build-isolation builds against the workload's own stand-in torch
# (from the index), whose version the backend writes into the module, and
# the result is installed and verified; a missing constraints file names
# the matrix's file:line. The sdists have an in-tree backend (backend-path,
# no requirements) that writes its wheel with zipfile.
# shellcheck disable=SC1091 # sourced at run time
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
IDX="$T_TMP/idx"
FL="$T_TMP/fl"
SRC="$T_TMP/src"
M="$T_TMP/m"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
mkdir -p "$FL" "$SRC" "$M"

t_need_cpython

cat >"$T_TMP/idx.spec" <<'EOF'
index simple format=both
  package torch
    wheel py3-none-any
    version 0.1
      file torch/__init__.py "__version__ = '0.1'\n"
EOF
"$MKINDEX" "$T_TMP/idx.spec" "$IDX" >/dev/null || { t_fail "build the test index"; t_done; exit 1; }

# helper 1.0 and 2.0, wheels in the find-links folder
"$PY1" - "$FL" <<'PY' || { t_fail "make the helper wheels"; t_done; exit 1; }
import base64, hashlib, os, sys, zipfile
def rec(d):
    h = base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (h, len(d))
for v in ("1.0", "2.0"):
    di = "helper-%s.dist-info" % v
    files = {"helper.py": ("VERSION = %r\n" % v).encode(),
             di + "/METADATA": ("Metadata-Version: 2.1\nName: helper\nVersion: %s\n" % v).encode(),
             di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(os.path.join(sys.argv[1], "helper-%s-py3-none-any.whl" % v), "w") as z:
        for k, d in files.items():
            z.writestr(k, d)
        z.writestr(di + "/RECORD", "".join("%s,%s\n" % (k, rec(d)) for k, d in files.items()) + di + "/RECORD,,\n")
PY

# mk_sdist NAME: NAME-1.0.tar.gz in the find-links folder; its backend
# writes into NAME/__init__.py what it saw: CONFIG (the config settings),
# HELPER (helper.VERSION, when the module imports), TORCH and TORCH_FILE
# (torch, when it imports)
mk_sdist() {
	d="$SRC/$1-1.0"
	rm -rf "$d"
	mkdir -p "$d/backend"
	printf 'Metadata-Version: 2.2\nName: %s\nVersion: 1.0\n\n' "$1" >"$d/PKG-INFO"
	cat >"$d/pyproject.toml" <<TOML
[build-system]
requires = []
build-backend = "knobback"
backend-path = ["backend"]
TOML
	cat >"$d/backend/knobback.py" <<PY
import base64, hashlib, json, os, zipfile
NAME = "$1"

def _rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    src = "CONFIG = %r\n" % (json.dumps(config_settings or {}, sort_keys=True),)
    if NAME.startswith("req"):
        import helper
        src += "HELPER = %r\n" % helper.VERSION
    if NAME.startswith("iso"):
        import torch
        src += "TORCH = %r\nTORCH_FILE = %r\n" % (torch.__version__, torch.__file__)
    di = "%s-1.0.dist-info" % NAME
    files = {
        NAME + "/__init__.py": src.encode(),
        di + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % NAME).encode(),
        di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: knobback\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
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
mk_sdist cfgpkg
mk_sdist reqpkg
mk_sdist isopkg
printf '# older helper for builds\nhelper<2\n' >"$M/cons.txt"

cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
find-links = $FL
python = $V1
build-requires.reqpkg = helper

[cfg]
path = cfg
packages = cfgpkg
config-settings.cfgpkg = mode=fast 'opt=a b'
    flag=x flag=y

[req]
path = req
packages = reqpkg

[con]
path = con
packages = reqpkg
build-constraints = cons.txt

[iso]
path = iso
packages =
    torch
    isopkg
no-build-isolation = isopkg
verify = python -c "import isopkg, sys; sys.exit(isopkg.TORCH != '0.1')"

[bad]
path = bad
packages = reqpkg
build-constraints = missing.txt
EOF

val() { # WORKLOAD EXPR: the value of EXPR in the workload's environment
	"$M/$1/.venv/bin/python" -c "$2" 2>&1
}

t_run "$EM" apply -f "$M/matrix.ini" cfg req con iso
if [ "$T_RC" = 0 ]; then
	t_pass "apply builds with config-settings, build-requires, build-constraints and no-build-isolation"
else
	t_fail "apply builds with the build keys" "$T_OUT$T_ERR"
fi

got=$(val cfg 'import cfgpkg; print(cfgpkg.CONFIG)')
if [ "$got" = '{"flag": ["x", "y"], "mode": "fast", "opt": "a b"}' ]; then
	t_pass "config-settings.PKG reach the backend (a repeated key as a list, a quoted value)"
else
	t_fail "config-settings.PKG reach the backend" "got: $got"
fi

got=$(val req 'import reqpkg; print(reqpkg.HELPER)')
if [ "$got" = 2.0 ]; then
	t_pass "build-requires.PKG from [matrix] adds a build requirement from find-links (the newest)"
else
	t_fail "build-requires.PKG adds a build requirement" "got: $got"
fi

got=$(val con 'import reqpkg; print(reqpkg.HELPER)')
if [ "$got" = 1.0 ]; then
	t_pass "build-constraints picks the older build requirement"
else
	t_fail "build-constraints picks the older build requirement" "got: $got"
fi

got=$(val iso 'import isopkg; print(isopkg.TORCH, isopkg.TORCH_FILE)')
case $got in
"0.1 $M/iso/.venv.envmatrix-staging/"*)
	t_pass "no-build-isolation builds against the workload's own torch (in its staging environment)" ;;
*) t_fail "no-build-isolation builds against the workload's own torch" "got: $got" ;;
esac
if [ -f "$M/iso/.venv/envmatrix-verify.json" ] && ! ls "$ENVMATRIX_CACHE_DIR"/tmp/ 2>/dev/null | grep -q .; then
	t_pass "the environment was verified and no temporary build is left in the cache"
else
	t_fail "verified, nothing left in the cache's tmp/" "$(ls "$ENVMATRIX_CACHE_DIR"/tmp/ 2>&1)"
fi
t_run "$EM" status -f "$M/matrix.ini" iso
case $T_OUT in
*"built from source"*isopkg*) t_pass "status names isopkg as built from source" ;;
*) t_fail "status names isopkg as built from source" "$T_OUT$T_ERR" ;;
esac

t_run "$EM" apply -f "$M/matrix.ini" bad
case $T_OUT$T_ERR in
*"matrix.ini:33"*"build-constraints file"*"missing.txt' does not exist"*)
	t_pass "a missing build-constraints file is named with the matrix's file:line" ;;
*) t_fail "a missing build-constraints file names file:line" "$T_RC $T_OUT$T_ERR" ;;
esac

# ---- envmatrix build with the matrix ----
t_run "$EM" build -f "$M/matrix.ini" cfg "$FL/cfgpkg-1.0.tar.gz" -o "$T_TMP/out1"
whl="$T_TMP/out1/cfgpkg-1.0-py3-none-any.whl"
got=$("$PY1" -c "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('cfgpkg/__init__.py').decode())" "$whl" 2>&1)
case $T_RC$got in
0*'"mode": "fast"'*) t_pass "build -f MATRIX WORKLOAD passes the workload's config-settings" ;;
*) t_fail "build -f MATRIX WORKLOAD passes config-settings" "$T_OUT$T_ERR$got" ;;
esac
t_run "$EM" build "$M/matrix.ini" con "$FL/reqpkg-1.0.tar.gz" -o "$T_TMP/out2"
got=$("$PY1" -c "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('reqpkg/__init__.py').decode())" "$T_TMP/out2/reqpkg-1.0-py3-none-any.whl" 2>&1)
case $T_RC$got in
0*"HELPER = '1.0'"*) t_pass "build MATRIX WORKLOAD takes build-requires and build-constraints" ;;
*) t_fail "build MATRIX WORKLOAD takes build-requires and build-constraints" "$T_OUT$T_ERR$got" ;;
esac
t_run "$EM" build -f "$M/matrix.ini" iso "$FL/isopkg-1.0.tar.gz" -o "$T_TMP/out3"
got=$("$PY1" -c "import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('isopkg/__init__.py').decode())" "$T_TMP/out3/isopkg-1.0-py3-none-any.whl" 2>&1)
case $T_RC$got in
0*"TORCH = '0.1'"*"$M/iso/.venv/"*) t_pass "build -f for a no-build-isolation package uses the workload's environment" ;;
*) t_fail "build -f for a no-build-isolation package uses the workload's environment" "$T_OUT$T_ERR$got" ;;
esac
t_run "$EM" build -f "$M/matrix.ini" "$FL/cfgpkg-1.0.tar.gz"
case $T_RC$T_ERR in
[12]*"has 5 workloads; name the one"*) t_pass "build -f with several workloads asks for one" ;;
*) t_fail "build -f with several workloads asks for one" "$T_RC $T_OUT$T_ERR" ;;
esac

t_done
