#!/bin/sh
# test_mkindex.sh - tests/tools/mkindex: the example index trees it builds
# (tests/indexes/*.spec), their hashes and sidecars, determinism, errors
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
specs="$(cd "$(dirname "$0")/../indexes" && pwd)"
out="$T_TMP/a"

t_expect "pytorch.spec builds quietly" 0 "" -- "$MKINDEX" "$specs/pytorch.spec" "$out"
[ -z "$T_ERR" ] || t_fail "pytorch.spec: stderr" "$T_ERR"
t_expect "pypi.spec builds quietly" 0 "" -- "$MKINDEX" "$specs/pypi.spec" "$out"

# ---- the shape of the trees ----
missing=""
for f in \
	torch/cu124/index.html torch/cu124/torch/index.html torch/cu126/torch/index.html \
	torch/cpu/torchvision/index.html torch/cu124/nvidia-cudnn-cu12/index.html \
	torch/cu124/torch/torch-2.6.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl \
	torch/cu124/torch/torch-2.6.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl.metadata \
	torch/cu124/torch/torch-2.6.0+cu124-cp312-cp312-win_amd64.whl \
	torch/cu126-files/torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl \
	torch/cu126-files/torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl.metadata \
	torch/cu126-files/torchaudio-2.6.0+cu126-cp311-cp311-win_amd64.whl \
	torch/cu126-files/triton-3.4.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl \
	torch/cpu/torch/torch-2.8.0+cpu-cp311-cp311-win_amd64.whl \
	torch/cpu/filelock/filelock-3.18.0-py3-none-any.whl \
	pypi/index.html pypi/index.json pypi/numpy/index.html pypi/numpy/index.json \
	pypi/numpy/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl \
	pypi/opencv-python/opencv_python-4.12.0.88-cp37-abi3-win_amd64.whl \
	pypi/insightface/insightface-0.7.3.tar.gz \
	pypi/openai-whisper/openai_whisper-20250625-py3-none-any.whl \
	wheels/insightface-0.7.3-cp311-cp311-win_amd64.whl \
	wheels/insightface-0.7.3-cp312-cp312-linux_x86_64.whl; do
	[ -f "$out/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then t_pass "tree shape"; else t_fail "tree shape" "missing:$missing"; fi

absent=""
for f in torch/cu124/torch/torch-2.8.0+cu124-cp311-cp311-win_amd64.whl \
	torch/cu126/torch/torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl \
	torch/cu124/index.json pypi/insightface/insightface-0.7.3-cp311-cp311-win_amd64.whl \
	wheels/index.html wheels/insightface-0.7.3-cp311-cp311-win_amd64.whl.metadata \
	pypi/insightface/insightface-0.7.3.tar.gz.metadata; do
	[ -e "$out/$f" ] && absent="$absent $f"
done
if [ -z "$absent" ]; then t_pass "what must not be there"; else t_fail "unexpected files" "$absent"; fi

n=$(ls "$out"/torch/cu124/torch/*.whl | wc -l)
m=$(ls "$out"/torch/cu126-files/torch-*.whl | wc -l)
k=$(ls "$out"/wheels/*.whl | wc -l)
if [ "$n" = 4 ] && [ "$m" = 8 ] && [ "$k" = 4 ]; then t_pass "wheel counts"; else
	t_fail "wheel counts" "cu124 torch $n (want 4), cu126 torch $m (want 8), find-links $k (want 4)"
fi

# ---- every anchor's hash is the file's, every sidecar's hash its own ----
# prints "FILE HASH" and "FILE.metadata HASH" lines for one page
anchors() { # PAGE
	dir=$(dirname "$1")
	{ tr '\n' ' ' <"$1" && echo; } | sed 's/<a /\n<a /g' | sed -n 's/^<a href="\([^"#]*\)#sha256=\([0-9a-f]*\)"\(.*\)$/\1 \2 \3/p' |
		while read -r href hash rest; do
			case $href in
			file://*) path=$(printf '%s' "${href#file://}" | sed 's/%2B/+/g') ;;
			*) path="$dir/$(printf '%s' "$href" | sed 's/%2B/+/g')" ;;
			esac
			echo "$path $hash"
			meta=$(printf '%s' "$rest" | sed -n 's/.*data-core-metadata="sha256=\([0-9a-f]*\)".*/\1/p')
			[ -n "$meta" ] && echo "$path.metadata $meta"
		done
}
bad=""
count=0
for page in "$out"/torch/*/*/index.html "$out"/pypi/*/index.html; do
	anchors "$page" >"$T_TMP/anchors"
	while read -r path hash; do
		count=$((count + 1))
		got=$(sha256sum "$path" 2>/dev/null | cut -d' ' -f1)
		[ "$got" = "$hash" ] || bad="$bad $path"
	done <"$T_TMP/anchors"
done
if [ -z "$bad" ] && [ "$count" -gt 500 ]; then t_pass "hashes in pages match the files ($count)"; else
	t_fail "hashes in pages" "checked $count" "wrong:$bad"
fi

# the JSON pages publish the same hashes and sizes
for page in "$out"/pypi/*/index.json; do
	dir=$(dirname "$page")
	{ tr -d ' \n' <"$page" && echo; } | sed 's/{"filename":/\n/g' | sed -n 's/^"\([^"]*\)","url":"[^"]*","hashes":{"sha256":"\([0-9a-f]*\)"}.*"size":\([0-9]*\),.*/\1 \2 \3/p' |
		while read -r name hash size; do
			got=$(sha256sum "$dir/$name" | cut -d' ' -f1)
			len=$(wc -c <"$dir/$name")
			if [ "$got" = "$hash" ] && [ "$len" -eq "$size" ]; then echo "good $name"; else echo "bad $name"; fi
		done
done >"$T_TMP/json-check"
good=$(grep -c '^good ' "$T_TMP/json-check")
if ! grep -q '^bad ' "$T_TMP/json-check" && [ "$good" -eq 193 ]; then t_pass "hashes and sizes in JSON pages ($good)"; else
	t_fail "JSON pages" "$good good (want 193)" "$(grep '^bad ' "$T_TMP/json-check")"
fi

# ---- sidecars are the wheels' own METADATA ----
if command -v unzip >/dev/null 2>&1; then
	bad=""
	count=0
	for side in "$out"/torch/*/*/*.whl.metadata "$out"/torch/*-files/*.whl.metadata \
		"$out"/pypi/*/*.whl.metadata; do
		count=$((count + 1))
		unzip -p "${side%.metadata}" '*.dist-info/METADATA' | cmp -s - "$side" || bad="$bad $side"
	done
	if [ -z "$bad" ] && [ "$count" -gt 300 ]; then t_pass "sidecars equal the wheel METADATA ($count)"; else
		t_fail "sidecars" "checked $count" "differ:$bad"
	fi
	unzip -p "$out/pypi/numpy/numpy-2.2.6-cp312-cp312-win_amd64.whl" numpy-2.2.6.dist-info/WHEEL >"$T_TMP/WHEEL"
	want="Wheel-Version: 1.0
Generator: mkindex (envmatrix tests)
Root-Is-Purelib: false
Tag: cp312-cp312-win_amd64"
	if [ "$(cat "$T_TMP/WHEEL")" = "$want" ]; then t_pass "WHEEL"; else t_fail "WHEEL" "$(cat "$T_TMP/WHEEL")"; fi
	unzip -p "$out/pypi/regex/regex-2025.7.34-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl" \
		regex-2025.7.34.dist-info/WHEEL | grep -c '^Tag: cp311-cp311-' >"$T_TMP/tags"
	if [ "$(cat "$T_TMP/tags")" = 3 ]; then t_pass "WHEEL expands compressed tags"; else t_fail "tags" "$(cat "$T_TMP/tags")"; fi
else
	t_skip "sidecars equal the wheel METADATA; WHEEL and its tags" "unzip is not installed (apt-get install unzip; test_spec checks the sidecars)"
fi

# ---- page details ----
p="$out/pypi/numpy/index.html"
if grep -q 'data-requires-python="&gt;=3.11"' "$p" &&
	grep -q 'numpy-2.3.0-cp311-cp311-win_amd64.whl#sha256=[0-9a-f]*" data-requires-python="&gt;=3.11" data-dist-info-metadata="sha256=[0-9a-f]*" data-core-metadata="sha256=[0-9a-f]*" data-yanked="yanked for the envmatrix tests">' "$p"; then
	t_pass "pypi page attributes (requires-python escaped, sidecars, yanked)"
else
	t_fail "pypi page attributes" "$(grep 2.3.0 "$p" | head -n 2)"
fi
p="$out/torch/cu126/torch/index.html"
if grep -q "href=\"file://$(cd "$out" && pwd)/torch/cu126-files/torch-2.8.0%2Bcu126-cp311-cp311-win_amd64.whl#sha256=" "$p" &&
	! grep -q data-requires-python "$p" && grep -q '>torch-2.8.0+cu126-cp311-cp311-win_amd64.whl</a>' "$p"; then
	t_pass "torch page: absolute file:// hrefs, %2B, no requires-python"
else
	t_fail "torch page" "$(head -n 12 "$p")"
fi
if grep -q '"yanked": true' "$out/pypi/coqui-tts/index.json" &&
	grep -q '"api-version": "1.1"' "$out/pypi/coqui-tts/index.json" &&
	grep -q '"core-metadata": {' "$out/pypi/coqui-tts/index.json"; then
	t_pass "JSON page fields"
else
	t_fail "JSON page fields" "$(head -n 30 "$out/pypi/coqui-tts/index.json")"
fi

# ---- determinism: the same spec gives the same bytes ----
mv "$out" "$T_TMP/first"
"$MKINDEX" "$specs/pytorch.spec" "$out" && "$MKINDEX" "$specs/pypi.spec" "$out"
if diff -r "$T_TMP/first" "$out" >"$T_TMP/diff" 2>&1; then t_pass "two builds are byte-identical"; else
	t_fail "determinism" "$(head -n 5 "$T_TMP/diff")"
fi
# another folder and time zone: the same wheels (only file:// URLs differ)
TZ=Asia/Kolkata "$MKINDEX" "$specs/pypi.spec" "$T_TMP/elsewhere"
if diff -r "$T_TMP/first/pypi" "$T_TMP/elsewhere/pypi" >"$T_TMP/diff" 2>&1; then
	t_pass "another folder and time zone, the same bytes"
else
	t_fail "another folder" "$(head -n 5 "$T_TMP/diff")"
fi
# files shared by the two trees are the same files
if cmp -s "$out/pypi/sympy/sympy-1.14.0-py3-none-any.whl" "$out/torch/cu126-files/sympy-1.14.0-py3-none-any.whl" &&
	cmp -s "$out/pypi/markupsafe/markupsafe-3.0.2-cp312-cp312-win_amd64.whl" "$out/torch/cpu/markupsafe/markupsafe-3.0.2-cp312-cp312-win_amd64.whl"; then
	t_pass "mirrored files are byte-identical to pypi's"
else
	t_fail "mirrored files differ"
fi

# ---- errors ----
printf 'index x\n  package y\n    version 1.0\n      requires numpy>=\n      sdist\n' >"$T_TMP/bad.spec"
t_expect_err "a spec error names SPEC:LINE" 1 "^mkindex: $T_TMP/bad.spec:4: " -- "$MKINDEX" "$T_TMP/bad.spec" "$T_TMP/bad"
printf 'index x\n  package y\n    version 1.0\n      metadata-file nothing/METADATA\n      sdist\n' >"$T_TMP/bad.spec"
t_expect_err "a missing metadata-file names the version's line" 1 "^mkindex: $T_TMP/bad.spec:3: .*nothing/METADATA" -- "$MKINDEX" "$T_TMP/bad.spec" "$T_TMP/bad"
t_expect_err "a missing spec" 1 "^mkindex: $T_TMP/none.spec: cannot open" -- "$MKINDEX" "$T_TMP/none.spec" "$T_TMP/bad"
t_expect_err "usage" 2 "^usage: mkindex SPEC OUTDIR" -- "$MKINDEX" "$T_TMP/bad.spec"

# ---- metadata-file, entry points, data files ----
mkdir -p "$T_TMP/fx"
printf 'Metadata-Version: 2.1\nName: raw\nVersion: 9\nRequires-Dist: anything-goes\n' >"$T_TMP/fx/METADATA"
cat >"$T_TMP/fx/x.spec" <<'END'
index simple format=json hashes=no
  package raw
    version 9
      metadata-file METADATA
      wheel py3-none-any
      entry-point console_scripts raw = raw.cli:main
      data scripts/raw-tool "#!python\nimport raw\n"
END
"$MKINDEX" "$T_TMP/fx/x.spec" "$T_TMP/fx/out"
if cmp -s "$T_TMP/fx/METADATA" "$T_TMP/fx/out/simple/raw/raw-9-py3-none-any.whl.metadata" &&
	grep -q '"hashes": {}' "$T_TMP/fx/out/simple/raw/index.json" &&
	grep -q '"core-metadata": true' "$T_TMP/fx/out/simple/raw/index.json" &&
	[ ! -e "$T_TMP/fx/out/simple/raw/index.html" ]; then
	t_pass "metadata-file, format=json, hashes=no"
else
	t_fail "metadata-file" "$(cat "$T_TMP/fx/out/simple/raw/index.json")"
fi
if command -v unzip >/dev/null 2>&1; then
	list=$(unzip -Z1 "$T_TMP/fx/out/simple/raw/raw-9-py3-none-any.whl" | tr '\n' ' ')
	want="raw-9.data/scripts/raw-tool raw-9.dist-info/METADATA raw-9.dist-info/WHEEL raw-9.dist-info/entry_points.txt raw/__init__.py raw-9.dist-info/RECORD "
	if [ "$list" = "$want" ]; then t_pass "wheel members, sorted, RECORD last"; else t_fail "members" "$list"; fi
else
	t_skip "wheel members, sorted, RECORD last" "unzip is not installed (apt-get install unzip)"
fi
t_done
