#!/bin/sh
# test_cache_build.sh - the cache's build folders (issue 13): after apply
# builds sdists (an in-tree backend that writes the wheel with zipfile, so
# no setuptools is needed) and 'envmatrix build' fails twice for one
# project, 'cache info' counts build-envs/, built/, build-metadata/ and
# build-logs/; 'cache prune' keeps what can be needed offline (built
# wheels, the build environment they name, prepared metadata, the newest
# log of each project) and removes half-made entries, unnamed build
# environments and older logs; 'cache prune --keep 1' drops the wheels
# built from sdists no kept lock holds; 'cache verify' finds a corrupted
# built wheel (and --repair removes it, so apply builds it again); 'verify'
# names the packages built from source; 'cache clean' removes all of it.
# shellcheck disable=SC1091 # sourced at run time
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
IDX="$T_TMP/idx"
FL="$T_TMP/fl"
SRC="$T_TMP/src"
M="$T_TMP/m"
MARK="$T_TMP/calls"
K="$T_TMP/cache"
export ENVMATRIX_CACHE_DIR="$K"
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

# mk_sdist NAME VERSION MODE: NAME-VERSION.tar.gz in the find-links folder
# with an in-tree backend (backend-path, no requirements); MODE dyn: its
# Requires-Dist is Dynamic (planned through prepare_metadata_for_build_wheel);
# MODE fail: build_wheel raises. Every build is written to $MARK.
mk_sdist() {
	d="$SRC/$1-$2"
	rm -rf "$d"
	mkdir -p "$d/backend"
	if [ "$3" = dyn ]; then
		printf 'Metadata-Version: 2.2\nName: %s\nVersion: %s\nDynamic: Requires-Dist\n\n' "$1" "$2" >"$d/PKG-INFO"
	else
		printf 'Metadata-Version: 2.2\nName: %s\nVersion: %s\nRequires-Dist: greet>=1\n\n' "$1" "$2" >"$d/PKG-INFO"
	fi
	cat >"$d/pyproject.toml" <<TOML
[build-system]
requires = []
build-backend = "tinyback"
backend-path = ["backend"]
TOML
	cat >"$d/backend/tinyback.py" <<PY
import base64, hashlib, os, zipfile
NAME, VER, MODE = "$1", "$2", "$3"
META = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Dist: greet>=1\n" % (NAME, VER)

def _rec(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))

if MODE == "dyn":
    def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
        di = "%s-%s.dist-info" % (NAME, VER)
        os.mkdir(os.path.join(metadata_directory, di))
        with open(os.path.join(metadata_directory, di, "METADATA"), "w") as f:
            f.write(META)
        return di

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("$MARK", "a") as f:
        f.write("%s build\n" % NAME)
    if MODE == "fail":
        raise RuntimeError("the tiny backend fails")
    di = "%s-%s.dist-info" % (NAME, VER)
    files = {
        NAME + "/__init__.py": b"import greet\nVALUE = greet.greeting() + ' from source'\n",
        di + "/METADATA": META.encode(),
        di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: tinyback\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rec = "".join("%s,%s\n" % (k, _rec(v)) for k, v in files.items()) + di + "/RECORD,,\n"
    name = "%s-%s-py3-none-any.whl" % (NAME, VER)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr(di + "/RECORD", rec)
    return name
PY
	(cd "$SRC" && tar czf "$FL/$1-$2.tar.gz" "$1-$2")
}
mk_sdist keepme 1.0 ok
mk_sdist dropme 1.0 ok
mk_sdist dynsrc 1.0 dyn
mk_sdist badsrc 1.0 fail
mk_sdist badsrc 1.1 fail
calls() { grep -c "^$1 build\$" "$MARK"; }

write_matrix() { # TWO_PACKAGE
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
find-links = $FL
python = $V1

[one]
path = one
packages =
    keepme

[two]
path = two
packages =
    $1

[dyn]
path = dyn
packages =
    dynsrc
EOF
}
write_matrix dropme

# jsonq EXPR: evaluate EXPR with j = the JSON on stdin
jsonq() {
	python3 -c 'import json,sys; j=json.load(sys.stdin); print('"$1"')'
}
count() { # FOLDER: entries in $K/FOLDER
	if [ -d "$K/$1" ]; then ls -A "$K/$1" | wc -l | tr -d ' '; else echo 0; fi
}
# built_of NAME: the built/<key> folder holding NAME's wheel
built_of() {
	for b in "$K"/built/*/"$1"-*.whl; do
		[ -f "$b" ] && dirname "$b" && return
	done
}

t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" != 0 ]; then
	t_fail "apply builds the sdists" "exit $T_RC" "$T_OUT" "$T_ERR"
	t_done
	exit 1
fi
# two failed builds of one project, the 1.1 one last
"$EM" build --no-index --find-links "$FL" --python "$PY1" -o "$T_TMP/out" "$FL/badsrc-1.0.tar.gz" >/dev/null 2>&1
OLDLOG=$(ls "$K"/build-logs/*.log 2>/dev/null)
"$EM" build --no-index --find-links "$FL" --python "$PY1" -o "$T_TMP/out" "$FL/badsrc-1.1.tar.gz" >/dev/null 2>&1
NEWLOG=$(ls "$K"/build-logs/*.log 2>/dev/null | grep -v "^$OLDLOG\$")
[ -f "$OLDLOG" ] && touch -d '2020-01-01' "$OLDLOG"
KEEPDIR=$(built_of keepme)
if [ "$(count built)" = 3 ] && [ "$(count build-envs)" = 1 ] && [ "$(count build-metadata)" = 1 ] &&
	[ "$(count build-logs)" = 2 ] && [ -n "$KEEPDIR" ] && [ -f "$KEEPDIR/wheel.sha256" ] &&
	(cd "$KEEPDIR" && sha256sum -c wheel.sha256 >/dev/null 2>&1); then
	t_pass "builds fill build-envs/, built/ (with the wheel's recorded sha256), build-metadata/, build-logs/"
else
	t_fail "the build folders" "$(cd "$K" && find build-envs built build-metadata build-logs -maxdepth 2 2>&1 | head -30)"
fi

# ---- info ----
t_run "$EM" cache info --json
got=$(printf '%s' "$T_OUT" | jsonq '" ".join(str(j[k]["entries"]) for k in ("build_envs","built","build_metadata","build_logs","tmp"))' 2>&1)
tot=$(printf '%s' "$T_OUT" | jsonq 'j["total"]["bytes"] == sum(j[k]["bytes"] for k in ("wheels","partial","unpacked","pages","build_envs","built","build_metadata","build_logs","tmp")) and j["built"]["bytes"] > 0 and j["build_envs"]["bytes"] > 0' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "1 3 1 2 0" ] && [ "$tot" = True ]; then
	t_pass "info --json counts build environments, built wheels, metadata and logs"
else
	t_fail "info --json with builds" "exit $T_RC" "got: $got (want 1 3 1 2 0)" "total: $tot" "$T_OUT" "$T_ERR"
fi
t_run "$EM" cache info
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^build-envs  *1 ' &&
	printf '%s\n' "$T_OUT" | grep -q '^built  *3 ' &&
	printf '%s\n' "$T_OUT" | grep -q '^build-metadata  *1 ' &&
	printf '%s\n' "$T_OUT" | grep -q '^build-logs  *2 '; then
	t_pass "info: a row for each build folder"
else
	t_fail "info table with builds" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- prune: half-made entries, unnamed environments, older logs ----
ENVDIR=$(ls -d "$K"/build-envs/* | head -n 1)
ORPHAN="$K/build-envs/$(printf '%064d' 7)"
mkdir -p "$ORPHAN/bin" "$K/build-envs/$(printf '%064d' 8)" "$K/built/$(printf '%064d' 9)" \
	"$K/build-metadata/$(printf '%064d' 6)"
echo '# an environment no built wheel names' >"$ORPHAN/.envmatrix-build-env"
echo x >"$ORPHAN/bin/tool"
echo half >"$K/build-envs/$(printf '%064d' 8)/half"                         # no mark
cp "$KEEPDIR"/*.whl "$K/built/$(printf '%064d' 9)/"                           # no key.txt
echo 'metadata' >"$K/build-metadata/$(printf '%064d' 6)/key.txt"              # no sdist, no METADATA
t_run "$EM" cache prune --json
got=$(printf '%s' "$T_OUT" | jsonq '" ".join(str(j["removed"][k]["entries"]) for k in ("build_envs","built","build_metadata","build_logs","tmp"))' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "1 0 0 1 3" ] && [ ! -e "$ORPHAN" ] && [ -d "$ENVDIR" ] &&
	[ "$(count built)" = 3 ] && [ "$(count build-envs)" = 1 ] && [ "$(count build-metadata)" = 1 ] &&
	[ -n "$OLDLOG" ] && [ ! -e "$OLDLOG" ] && [ -f "$NEWLOG" ] &&
	[ ! -e "$K/built/$(printf '%064d' 9)" ] && [ ! -e "$K/build-envs/$(printf '%064d' 8)" ]; then
	t_pass "prune drops half-made entries, an unnamed build environment and older logs; keeps built wheels, their environment, metadata"
else
	t_fail "prune with builds" "exit $T_RC" "got: $got (want 1 0 0 1 3)" "$T_OUT" "$T_ERR" \
		"$(cd "$K" && ls build-envs built build-metadata build-logs 2>&1)"
fi
t_run "$EM" apply --force -f "$M/matrix.ini" one
if [ "$T_RC" = 0 ] && [ "$(calls keepme)" = 1 ]; then
	t_pass "after prune, apply --force takes the built wheel from the cache (no build)"
else
	t_fail "apply after prune" "exit $T_RC" "$T_ERR" "$(cat "$MARK")"
fi

# ---- prune --keep 1: what no kept lock holds goes ----
write_matrix greet
t_run "$EM" apply -f "$M/matrix.ini" two
[ "$T_RC" = 0 ] || t_fail "apply two without dropme" "exit $T_RC" "$T_ERR"
t_run "$EM" cache prune --keep 1 -f "$M/matrix.ini" --json
got=$(printf '%s' "$T_OUT" | jsonq 'j["removed"]["built"]["entries"]' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = 1 ] && [ -z "$(built_of dropme)" ] && [ -n "$(built_of keepme)" ] &&
	[ -n "$(built_of dynsrc)" ] && [ "$(count build-envs)" = 1 ] && [ "$(count build-metadata)" = 1 ]; then
	t_pass "prune --keep 1 drops the wheel built from an sdist no kept lock holds, keeps the others and their environment"
else
	t_fail "prune --keep with builds" "exit $T_RC" "removed built: $got" "$T_OUT" "$T_ERR" \
		"$(cd "$K" && ls built/* build-envs 2>&1)"
fi

# ---- cache verify ----
t_run "$EM" cache verify
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^2 built wheels checked, 0 damaged$'; then
	t_pass "cache verify checks the built wheels"
else
	t_fail "cache verify with builds" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
KEEPDIR=$(built_of keepme)
WHL=$(ls "$KEEPDIR"/*.whl)
chmod u+w "$WHL" && printf 'garbage' >>"$WHL"
t_run "$EM" cache verify --json
got=$(printf '%s' "$T_OUT" | jsonq '[(d["entry"], d["state"], d["wheel"]) for d in j["damaged"]] == [("built", "damaged", "keepme-1.0-py3-none-any.whl")] and j["built_checked"] == 2' 2>&1)
if [ "$T_RC" = 1 ] && [ "$got" = True ] && printf '%s\n' "$T_ERR" | grep -q "built wheel in '$K' is damaged"; then
	t_pass "cache verify finds a corrupted built wheel (exit 1, --json names it)"
else
	t_fail "cache verify: corrupted built wheel" "exit $T_RC" "$got" "$T_OUT" "$T_ERR"
fi
t_run "$EM" cache verify --repair
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^dropped  *keepme-1.0-py3-none-any.whl (built)" &&
	[ ! -e "$KEEPDIR" ]; then
	t_pass "cache verify --repair removes the damaged built wheel"
else
	t_fail "cache verify --repair" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" apply --force -f "$M/matrix.ini" one
if [ "$T_RC" = 0 ] && [ "$(calls keepme)" = 2 ] && [ -n "$(built_of keepme)" ]; then
	t_pass "the next apply builds it again"
else
	t_fail "apply after repair" "exit $T_RC" "$T_ERR" "$(cat "$MARK")"
fi

# ---- verify names what was built from source ----
t_run "$EM" verify -f "$M/matrix.ini" one
if [ "$T_RC" = 0 ] &&
	printf '%s\n' "$T_OUT" | grep -q '^built from source (sdist, no wheel for this target): keepme$'; then
	t_pass "verify names the packages built from source"
else
	t_fail "verify: built from source" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" verify -f "$M/matrix.ini" --json one two
got=$(printf '%s' "$T_OUT" | jsonq '[w["built_from_source"] for w in j["workloads"]]' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "[['keepme'], []]" ]; then
	t_pass "verify --json: built_from_source"
else
	t_fail "verify --json: built_from_source" "exit $T_RC" "got: $got" "$T_OUT" "$T_ERR"
fi
t_run "$EM" verify --venv "$M/one/.venv" --json
got=$(printf '%s' "$T_OUT" | jsonq 'j["built_from_source"]' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = "['keepme']" ]; then
	t_pass "verify --venv --json: built_from_source"
else
	t_fail "verify --venv --json: built_from_source" "exit $T_RC" "got: $got" "$T_OUT" "$T_ERR"
fi

# ---- clean ----
t_run "$EM" cache clean --json
got=$(printf '%s' "$T_OUT" | jsonq 'j["removed"]["built"]["entries"] == 2 and j["removed"]["build_envs"]["entries"] == 1 and j["removed"]["build_logs"]["entries"] == 1 and j["removed"]["build_metadata"]["entries"] == 1' 2>&1)
if [ "$T_RC" = 0 ] && [ "$got" = True ] && [ "$(count built)" = 0 ] && [ "$(count build-envs)" = 0 ] &&
	[ "$(count build-metadata)" = 0 ] && [ "$(count build-logs)" = 0 ] &&
	"$M/one/.venv/bin/python" -c 'import keepme' 2>/dev/null; then
	t_pass "clean removes the build folders' entries; the environments keep working"
else
	t_fail "clean with builds" "exit $T_RC" "$got" "$T_OUT" "$T_ERR" "$(cd "$K" && ls -R build-envs built build-metadata build-logs 2>&1 | head)"
fi

t_done
