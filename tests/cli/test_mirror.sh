#!/bin/sh
# test_mirror.sh - `envmatrix mirror DIR`: the design brief's matrices
# planned against PyTorch- and PyPI-shaped indexes (mkindex), mirrored,
# then planned again against the mirror alone (folder, HTML only, and
# through nginx when it is installed): the same packages, versions and
# hashes. Layout, page hashes and sidecars, incremental runs, --verify,
# --prune, --workload, sdists and paths in hand-written locks, and clean
# errors (no lock, a bad hash, locks that disagree, DIR not writable).
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
"$MKINDEX" "$top/tests/indexes/pytorch.spec" "$IDX" >/dev/null &&
	"$MKINDEX" "$top/tests/indexes/pypi.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test indexes"; t_done; exit 1; }

# a copy of a shipped matrix, pointed at the test indexes
matrix() { # SRC DIR
	mkdir -p "$2"
	sed -e "s|^index-url = .*|index-url = $IDX/pypi\nfind-links = $IDX/wheels|" \
		-e "s|^torch-index-url = .*|torch-index-url = $IDX/torch|" "$1" >"$2/matrix.ini"
}
# the same matrix pointed at a mirror (INDEX and TORCH are URLs or folders)
mirrored() { # SRC DIR INDEX TORCH
	mkdir -p "$2"
	sed -e "s|^index-url = .*|index-url = $3|" \
		-e "s|^torch-index-url = .*|torch-index-url = $4|" "$1" >"$2/matrix.ini"
}
# same_locks A B WORKLOAD...: `debug lock` (names, versions, files, hashes,
# sizes; no URLs) is the same for each workload's lock in A and B
same_locks() {
	a=$1 b=$2
	shift 2
	for w in "$@"; do
		"$EM" debug lock "$a/pylock.$w.toml" >"$T_TMP/lock.a" 2>&1 &&
			"$EM" debug lock "$b/pylock.$w.toml" >"$T_TMP/lock.b" 2>&1 &&
			cmp -s "$T_TMP/lock.a" "$T_TMP/lock.b" || {
			diff "$T_TMP/lock.a" "$T_TMP/lock.b" | head -n 10 | sed 's/^/#   /'
			return 1
		}
	done
}
# json_num KEY: the number of "KEY": N in $T_OUT
json_num() {
	printf '%s\n' "$T_OUT" | sed -n "s/^ *\"$1\": \([0-9]*\),*$/\1/p" | head -n 1
}

# ---- plan the Linux and Windows matrices against the test indexes ----
L="$T_TMP/linux"
W="$T_TMP/win"
matrix "$top/matrices/rtx3090-linux.ini" "$L"
matrix "$top/matrices/rtx3090-windows.ini" "$W"
t_run sh -c "cd '$L' && '$EM' plan && cd '$W' && '$EM' plan"
[ "$T_RC" = 0 ] && t_pass "both matrices planned" || { t_fail "plan" "$T_OUT" "$T_ERR"; t_done; exit 1; }

# ---- mirror the Linux matrix ----
MIR="$T_TMP/mirror"
t_run "$EM" mirror -f "$L/matrix.ini" "$MIR"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^mirrored [0-9]* files ([0-9.]* KiB) of [0-9]* projects into '$MIR'$" &&
	printf '%s\n' "$T_OUT" | grep -qx "index-url = file://$MIR/simple" &&
	printf '%s\n' "$T_OUT" | grep -qx "torch-index-url = file://$MIR/torch"; then
	t_pass "mirror: summary and the URLs to use"
else
	t_fail "mirror" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

missing=""
for f in simple/index.html simple/index.json simple/numpy/index.html simple/numpy/index.json \
	simple/numpy/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl \
	simple/numpy/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl.metadata \
	simple/insightface/insightface-0.7.3-cp311-cp311-linux_x86_64.whl \
	torch/cu126/index.html torch/cu126/index.json torch/cu126/torch/index.json \
	torch/cu126/torch/torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl \
	torch/cu126/torch/torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl.metadata \
	torch/cu126/torchvision/index.html torch/cu126/triton/index.html \
	torch/cu124/torch/torch-2.6.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl; do
	[ -f "$MIR/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && t_pass "layout: simple/<project>/, torch/<variant>/<project>/" ||
	t_fail "layout" "missing:$missing"
absent=""
for f in simple/torch simple/triton torch/cpu torch/cu128 simple/nvidia-cublas-cu12/index.html.tmp; do
	[ -e "$MIR/$f" ] && absent="$absent $f"
done
[ -z "$absent" ] && t_pass "the torch family only on its variant's index" || t_fail "unexpected" "$absent"

# exactly the locked files: one per distinct (project, file name) of the locks
want=$(cat "$L"/pylock.*.toml | sed -n 's/^url = "file:.*\/\([^/]*\)"$/\1/p' | sed 's/%2B/+/g' | sort -u | wc -l)
got=$(find "$MIR/simple" "$MIR/torch" -type f ! -name 'index.*' ! -name '*.metadata' | sed 's|.*/||' | sort -u | wc -l)
nfiles=$(find "$MIR/simple" "$MIR/torch" -type f ! -name 'index.*' ! -name '*.metadata' | wc -l)
[ "$want" -gt 50 ] && [ "$got" = "$want" ] && [ "$nfiles" = "$want" ] &&
	t_pass "exactly the files the locks name ($want)" || t_fail "file count" "locks $want, mirror $got ($nfiles)"

# every anchor's hash is its file's, every sidecar's hash its own
anchors() { # PAGE: "PATH HASH" lines, sidecars too
	dir=$(dirname "$1")
	{ tr '\n' ' ' <"$1" && echo; } | sed 's/<a /\n<a /g' |
		sed -n 's/^<a href="\([^"#]*\)#sha256=\([0-9a-f]*\)"\(.*\)$/\1 \2 \3/p' |
		while read -r href hash rest; do
			path="$dir/$(printf '%s' "$href" | sed 's/%2B/+/g')"
			echo "$path $hash"
			meta=$(printf '%s' "$rest" | sed -n 's/.*data-core-metadata="sha256=\([0-9a-f]*\)".*/\1/p')
			[ -n "$meta" ] && echo "$path.metadata $meta"
		done
}
bad="" count=0
for page in "$MIR"/simple/*/index.html "$MIR"/torch/*/*/index.html; do
	anchors "$page" >"$T_TMP/anchors"
	while read -r path hash; do
		count=$((count + 1))
		[ "$(sha256sum "$path" 2>/dev/null | cut -d' ' -f1)" = "$hash" ] || bad="$bad $path"
	done <"$T_TMP/anchors"
done
[ -z "$bad" ] && [ "$count" -gt 150 ] && t_pass "page hashes match files and sidecars ($count)" ||
	t_fail "page hashes" "checked $count" "wrong:$bad"
if command -v unzip >/dev/null 2>&1; then
	bad="" count=0
	for side in "$MIR"/simple/*/*.whl.metadata "$MIR"/torch/*/*/*.whl.metadata; do
		count=$((count + 1))
		unzip -p "${side%.metadata}" '*.dist-info/METADATA' | cmp -s - "$side" || bad="$bad $side"
	done
	[ -z "$bad" ] && t_pass "sidecars are the wheels' METADATA ($count)" || t_fail "sidecars" "$bad"
else
	t_skip "sidecars are the wheels' METADATA" "unzip is not installed (apt-get install unzip)"
fi
p="$MIR/torch/cu126/torch/index.html"
grep -q 'href="torch-2.8.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=[0-9a-f]\{64\}" data-requires-python="&gt;=3.9.0" data-dist-info-metadata="sha256=[0-9a-f]\{64\}" data-core-metadata="sha256=[0-9a-f]\{64\}">torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl</a>' "$p" &&
	t_pass "anchors: relative %2B hrefs, requires-python from METADATA, sidecar hashes" ||
	t_fail "anchor" "$(grep '<a ' "$p" | head -n 2)"
j="$MIR/simple/numpy/index.json"
grep -q '"api-version": "1.1"' "$j" && grep -q '"versions": \[' "$j" &&
	grep -q '"url": "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"' "$j" &&
	grep -q '"core-metadata": {' "$j" && grep -q '"size": [0-9]' "$j" &&
	grep -q '"upload-time": "2025-' "$j" &&
	t_pass "PEP 691 pages: api 1.1, versions, relative urls, sizes, upload times" ||
	t_fail "json page" "$(head -n 30 "$j")"
grep -q '<a href="numpy/">numpy</a>' "$MIR/simple/index.html" && grep -q '"name": "numpy"' "$MIR/simple/index.json" &&
	grep -q '<a href="torch/">torch</a>' "$MIR/torch/cu126/index.html" &&
	t_pass "root pages list the projects" || t_fail "root pages"

# ---- the mirror alone gives the same locks ----
L2="$T_TMP/linux-mirrored"
mirrored "$L/matrix.ini" "$L2" "$MIR/simple" "$MIR/torch"
t_run sh -c "cd '$L2' && '$EM' plan"
[ "$T_RC" = 0 ] && same_locks "$L" "$L2" vlm asr tts lvface &&
	t_pass "planning against the mirror folder: the same packages, versions and hashes" ||
	t_fail "plan against the mirror" "exit $T_RC" "$T_OUT" "$T_ERR"
! grep -q "$IDX" "$L2"/pylock.*.toml && grep -q "file://$MIR/torch/cu126/torch/torch-2.8.0%2Bcu126" "$L2/pylock.vlm.toml" &&
	t_pass "those locks point into the mirror only" || t_fail "mirror URLs" "$(grep url "$L2/pylock.vlm.toml" | head -n 3)"
HTMLONLY="$T_TMP/mirror-html"
cp -R "$MIR" "$HTMLONLY" && find "$HTMLONLY" -name index.json -exec rm {} +
L3="$T_TMP/linux-html"
mirrored "$L/matrix.ini" "$L3" "file://$HTMLONLY/simple" "file://$HTMLONLY/torch"
t_run sh -c "cd '$L3' && '$EM' plan"
[ "$T_RC" = 0 ] && same_locks "$L" "$L3" vlm asr tts lvface &&
	t_pass "the HTML pages alone (file:// URLs) give the same locks" ||
	t_fail "plan against HTML pages" "exit $T_RC" "$T_ERR"
cd "$L2" && "$EM" plan --check >/dev/null 2>&1 && t_pass "re-planning against the mirror: up to date" ||
	t_fail "plan --check against the mirror"
cd "$top" || exit 1

# ---- the Windows matrix: find-links wheels join the index ----
MW="$T_TMP/mirror-win"
t_run "$EM" mirror -f "$W/matrix.ini" --json "$MW"
[ "$T_RC" = 0 ] && [ -f "$MW/simple/insightface/insightface-0.7.3-cp311-cp311-win_amd64.whl" ] &&
	printf '%s\n' "$T_OUT" | grep -q '"variants": \[' && printf '%s\n' "$T_OUT" | grep -q '"cu124"' &&
	t_pass "windows matrix mirrored (--json)" || t_fail "windows mirror" "$T_OUT" "$T_ERR"
W2="$T_TMP/win-mirrored"
sed -e "s|^index-url = .*|index-url = file://$MW/simple|" -e "s|^torch-index-url = .*|torch-index-url = $MW/torch|" \
	"$top/matrices/rtx3090-windows.ini" >"$T_TMP/win.ini"
mkdir -p "$W2" && cp "$T_TMP/win.ini" "$W2/matrix.ini"
t_run sh -c "cd '$W2' && '$EM' plan"
[ "$T_RC" = 0 ] && same_locks "$W" "$W2" vlm asr tts lvface &&
	t_pass "windows: the mirror (no find-links) gives the same locks" || t_fail "windows plan" "$T_ERR"

# ---- running it again is incremental ----
ls -liR "$MIR" >"$T_TMP/before"
t_run "$EM" mirror -f "$L/matrix.ini" --json "$MIR"
ls -liR "$MIR" >"$T_TMP/after"
[ "$T_RC" = 0 ] && [ "$(json_num placed)" = 0 ] && [ "$(json_num present)" = "$want" ] &&
	[ "$(json_num pages_written)" = 0 ] && cmp -s "$T_TMP/before" "$T_TMP/after" &&
	t_pass "a second run changes nothing (0 placed, $want present, no page rewritten)" ||
	t_fail "incremental" "$(printf '%s\n' "$T_OUT" | head -n 20)" "$(diff "$T_TMP/before" "$T_TMP/after" | head)"
numpy="$MIR/simple/numpy/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
rm "$numpy" "$numpy.metadata"
t_run "$EM" mirror -f "$L/matrix.ini" --json "$MIR"
[ "$T_RC" = 0 ] && [ "$(json_num placed)" = 1 ] && [ "$(json_num pages_written)" = 1 ] && [ -f "$numpy.metadata" ] &&
	t_pass "a missing file (and its sidecar) is put back, nothing else" || t_fail "put back" "$T_OUT" "$T_ERR"
# a wheel of the right size whose METADATA cannot be read is placed again
sum=$(sha256sum "$numpy" | cut -d' ' -f1)
printf 'X' | dd of="$numpy" bs=1 seek=100 conv=notrunc 2>/dev/null
t_run "$EM" mirror -f "$L/matrix.ini" --json "$MIR"
[ "$T_RC" = 0 ] && [ "$(json_num placed)" = 1 ] && [ "$(sha256sum "$numpy" | cut -d' ' -f1)" = "$sum" ] &&
	t_pass "a damaged wheel that cannot be read is placed again" || t_fail "damaged wheel" "$T_OUT" "$T_ERR"

# ---- --workload, --prune ----
ML="$T_TMP/mirror-lvface"
t_run "$EM" mirror -f "$L/matrix.ini" --workload lvface "$ML"
[ "$T_RC" = 0 ] && [ -d "$ML/torch/cu124/torch" ] && [ ! -e "$ML/torch/cu126" ] &&
	! ls "$ML"/simple/numpy/*cp312* >/dev/null 2>&1 &&
	t_pass "--workload mirrors only that lock" || t_fail "--workload" "$T_OUT" "$T_ERR"
echo keep >"$MIR/README"
echo stray >"$MIR/simple/numpy/stray.whl"
mkdir -p "$MIR/simple/gone" "$MIR/torch/cu999" && echo x >"$MIR/simple/gone/gone-1.0.tar.gz"
t_run "$EM" mirror -f "$L/matrix.ini" "$MIR"
[ -f "$MIR/simple/numpy/stray.whl" ] && [ -d "$MIR/simple/gone" ] && [ -d "$MIR/torch/cu126" ] &&
	t_pass "without --prune nothing is removed" || t_fail "no prune"
t_run "$EM" mirror -f "$L/matrix.ini" --workload lvface --prune "$MIR"
if [ "$T_RC" = 0 ] && [ ! -e "$MIR/torch/cu126" ] && [ ! -e "$MIR/torch/cu999" ] &&
	[ ! -e "$MIR/simple/gone" ] && [ ! -e "$MIR/simple/numpy/stray.whl" ] &&
	[ -f "$MIR/README" ] && [ -f "$MIR/simple/numpy/index.html" ] &&
	[ ! -e "$MIR/simple/numpy/numpy-2.3.1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl" ] &&
	printf '%s\n' "$T_OUT" | grep -q '^removed [0-9]* paths no lock needs$'; then
	t_pass "--prune removes what the locks no longer name, only under simple/ and torch/"
else
	t_fail "--prune" "$T_OUT" "$T_ERR" "$(ls "$MIR" "$MIR/torch")"
fi
(cd "$ML" && find . -type f ! -name '*.lock' | sort) >"$T_TMP/ml"
(cd "$MIR" && find . -type f ! -name '*.lock' ! -name README | sort) >"$T_TMP/mir"
cmp -s "$T_TMP/ml" "$T_TMP/mir" && t_pass "a pruned mirror equals a fresh one" ||
	t_fail "pruned = fresh" "$(diff "$T_TMP/ml" "$T_TMP/mir" | head)"
rm -f "$L2"/pylock.*.toml
t_run sh -c "cd '$L2' && '$EM' plan lvface"
[ "$T_RC" = 0 ] && same_locks "$L" "$L2" lvface && t_pass "the pruned mirror still plans lvface" ||
	t_fail "plan after prune" "$T_ERR"

# ---- a hand-written lock: a relative path, an sdist, a VCS package ----
H="$T_TMP/hand"
mkdir -p "$H/wheels"
cp "$IDX/wheels/insightface-0.7.3-cp312-cp312-linux_x86_64.whl" "$H/wheels/"
whl="$H/wheels/insightface-0.7.3-cp312-cp312-linux_x86_64.whl"
sdist="$IDX/pypi/insightface/insightface-0.7.3.tar.gz"
cat >"$H/matrix.ini" <<EOF
[matrix]
index-url = $IDX/pypi

[hand]
python = 3.12.10
platform = linux-x86_64
EOF
cat >"$H/pylock.hand.toml" <<EOF
lock-version = "1.0"
created-by = "a hand"

[[packages]]
name = "insightface"
version = "0.7.3"
wheels = [{ path = "wheels/insightface-0.7.3-cp312-cp312-linux_x86_64.whl", size = $(wc -c <"$whl"), hashes = { sha256 = "$(sha256sum "$whl" | cut -d' ' -f1)" } }]
sdist = { url = "file://$sdist", size = $(wc -c <"$sdist"), hashes = { sha256 = "$(sha256sum "$sdist" | cut -d' ' -f1)" } }

[[packages]]
name = "gitpkg"
version = "1.0"
vcs = { type = "git", url = "https://example.invalid/gitpkg.git", commit-id = "0123456789abcdef0123456789abcdef01234567" }
EOF
MH="$T_TMP/mirror-hand"
t_run "$EM" mirror -f "$H/matrix.ini" "$MH"
p="$MH/simple/insightface/index.html"
if [ "$T_RC" = 0 ] && [ -f "$MH/simple/insightface/insightface-0.7.3.tar.gz" ] &&
	[ -f "$MH/simple/insightface/insightface-0.7.3-cp312-cp312-linux_x86_64.whl.metadata" ] &&
	[ ! -e "$MH/simple/insightface/insightface-0.7.3.tar.gz.metadata" ] &&
	grep -q 'href="insightface-0.7.3.tar.gz#sha256=[0-9a-f]*">insightface-0.7.3.tar.gz</a>' "$p" &&
	printf '%s\n' "$T_ERR" | grep -q "warning: not mirrored: gitpkg 1.0 (.*pylock.hand.toml:[0-9]*: a VCS, directory or archive source)" &&
	[ ! -e "$MH/torch" ] && ! printf '%s\n' "$T_OUT" | grep -q torch-index-url; then
	t_pass "sdists and relative paths mirrored; a VCS package is named and skipped"
else
	t_fail "hand-written lock" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# a file of the right size with other bytes: kept by size, replaced by --verify
sd="$MH/simple/insightface/insightface-0.7.3.tar.gz"
sum=$(sha256sum "$sd" | cut -d' ' -f1)
printf 'X' | dd of="$sd" bs=1 seek=200 conv=notrunc 2>/dev/null
t_run "$EM" mirror -f "$H/matrix.ini" --json "$MH"
[ "$T_RC" = 0 ] && [ "$(json_num placed)" = 0 ] && t_pass "by default a file in place is checked by its size" ||
	t_fail "size check" "$T_OUT" "$T_ERR"
t_run "$EM" mirror -f "$H/matrix.ini" --verify --json "$MH"
[ "$T_RC" = 0 ] && [ "$(json_num placed)" = 1 ] && [ "$(sha256sum "$sd" | cut -d' ' -f1)" = "$sum" ] &&
	t_pass "--verify checks hashes and replaces a damaged file" || t_fail "--verify" "$T_OUT" "$T_ERR"

# ---- mistakes ----
t_expect_err "no folder: usage" 2 "no folder to mirror into" -- "$EM" mirror -f "$L/matrix.ini"
t_expect_err "two folders: usage" 2 "one folder to mirror into, not 2" -- "$EM" mirror -f "$L/matrix.ini" a b
t_expect_err "an unknown workload" 1 "no workload 'nope'" -- "$EM" mirror -f "$L/matrix.ini" --workload nope "$T_TMP/x"
N="$T_TMP/nolock"
mkdir -p "$N" && cp "$L/matrix.ini" "$N/"
t_expect_err "a workload without a lock: its path, and what to do" 1 \
	"$N/pylock.vlm.toml: workload 'vlm' has no lock; run 'envmatrix plan' first" -- \
	"$EM" mirror -f "$N/matrix.ini" "$T_TMP/x"
[ ! -e "$T_TMP/x" ] && t_pass "nothing is written when a lock is missing" || t_fail "wrote on error"
cp "$L/pylock.vlm.toml" "$N/" && printf 'packages = [\n' >>"$N/pylock.vlm.toml"
t_expect_err "a lock that does not parse: file and line" 1 "$N/pylock.vlm.toml:[0-9]*: " -- \
	"$EM" mirror -f "$N/matrix.ini" --workload vlm "$T_TMP/x"
cp "$L/pylock.asr.toml" "$L/pylock.vlm.toml" "$N/"
cert=$(sed -n 's/.*certifi-2025.7.14-py3-none-any.whl.*sha256 = "\([0-9a-f]*\)".*/\1/p' "$N/pylock.asr.toml" | head -n 1)
[ -z "$cert" ] && cert=$(grep -A3 'certifi-2025.7.14-py3-none-any.whl' "$N/pylock.asr.toml" | sed -n 's/.*sha256 = "\([0-9a-f]*\)".*/\1/p' | head -n 1)
sed -i "s/$cert/0000000000000000000000000000000000000000000000000000000000000000/" "$N/pylock.asr.toml"
t_expect_err "two locks that disagree about a file" 1 \
	"pylock.asr.toml:[0-9]*: 'certifi-2025.7.14-py3-none-any.whl' has sha256 0000.* here, but $cert at .*pylock.vlm.toml:[0-9]*" -- \
	"$EM" mirror -f "$N/matrix.ini" --workload vlm --workload asr "$T_TMP/x"
t_expect_err "a file whose bytes are not the lock's: the file and both hashes" 1 \
	"pylock.asr.toml:[0-9]*: .*certifi-2025.7.14-py3-none-any.whl.*$cert.*0000000000" -- \
	"$EM" mirror -f "$N/matrix.ini" --workload asr "$T_TMP/x"
[ ! -e "$T_TMP/x/simple/certifi/certifi-2025.7.14-py3-none-any.whl" ] && [ ! -e "$T_TMP/x/simple/certifi/index.html" ] &&
	[ ! -e "$T_TMP/x/simple/index.html" ] && t_pass "a bad file is never placed, and no page is written" ||
	t_fail "bad file placed"
echo "a file" >"$T_TMP/afile"
t_expect_err "DIR cannot be made: the folder is named" 1 "$T_TMP/afile/mirror.*: .*Not a directory" -- \
	"$EM" mirror -f "$L/matrix.ini" "$T_TMP/afile/mirror"
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$T_TMP/ro" && chmod 555 "$T_TMP/ro"
	t_expect_err "DIR not writable" 1 "$T_TMP/ro/m.*Permission denied" -- "$EM" mirror -f "$L/matrix.ini" "$T_TMP/ro/m"
	chmod 755 "$T_TMP/ro"
else
	mkdir -p "$T_TMP/ro/m" && chmod 555 "$T_TMP/ro/m"
	echo "# root: a read-only folder is writable; checked a non-folder instead"
	chmod 755 "$T_TMP/ro/m"
fi
t_expect_err "mirror --help" 0 "" -- sh -c "'$EM' mirror --help >&2"

# ---- served by nginx (PEP 691 content negotiation), when nginx is here ----
HTTPD_FAULTSERVER="$top/tests/tools/faultserver.py"
if [ -f "$top/tests/tools/httpd.sh" ] && . "$top/tests/tools/httpd.sh" && httpd_have_nginx; then
	NG="$T_TMP/nginx"
	trap 'httpd_nginx_stop "$NG" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT INT TERM
	if httpd_nginx_start "$MW" "$NG" 2>"$T_TMP/ng.err"; then
		base="http://127.0.0.1:$HTTPD_HTTP_PORT"
		W3="$T_TMP/win-http"
		mirrored "$top/matrices/rtx3090-windows.ini" "$W3" "$base/simple" "$base/torch"
		t_run sh -c "cd '$W3' && ENVMATRIX_CACHE_DIR='$T_TMP/cache-http' '$EM' plan"
		[ "$T_RC" = 0 ] && same_locks "$W" "$W3" vlm asr tts lvface &&
			t_pass "served by nginx over HTTP: the same locks" || t_fail "nginx" "exit $T_RC" "$T_ERR"
		httpd_nginx_stop "$NG" >/dev/null 2>&1
	else
		t_fail "start nginx" "$(cat "$T_TMP/ng.err")"
	fi
	# the Linux matrix end to end from its mirror over HTTPS (a test CA),
	# then again with --offline once the server is gone
	MIRF="$T_TMP/mirror-full"
	"$EM" -q mirror -f "$L/matrix.ini" "$MIRF" >/dev/null || t_fail "mirror the Linux matrix again"
	if httpd_nginx_start "$MIRF" "$NG" 2>"$T_TMP/ng.err"; then
		base="https://127.0.0.1:$HTTPD_HTTPS_PORT"
		L4="$T_TMP/linux-https"
		mirrored "$L/matrix.ini" "$L4" "$base/simple" "$base/torch"
		sed -i "s|^\[matrix\]\$|[matrix]\nca-file = $HTTPD_CA|" "$L4/matrix.ini"
		export ENVMATRIX_CACHE_DIR="$T_TMP/cache-https"
		t_run sh -c "cd '$L4' && '$EM' plan"
		[ "$T_RC" = 0 ] && same_locks "$L" "$L4" vlm asr tts lvface &&
			t_pass "the Linux mirror over HTTPS with a test CA: the same locks" ||
			t_fail "https mirror" "exit $T_RC" "$T_ERR"
		have=$("$EM" python list 2>/dev/null | awk '{ print $1 }')
		if printf '%s\n' "$have" | grep -q '^3\.12\.' && printf '%s\n' "$have" | grep -q '^3\.11\.'; then
			# the interpreters this machine has (3.12.10 and 3.11.9 may not be)
			sed -i -e 's/^python = 3\.12\.10$/python = 3.12/' -e 's/^python = 3\.11\.9$/python = 3.11/' \
				"$L4/matrix.ini"
			t_run sh -c "cd '$L4' && '$EM' apply"
			if [ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c ' built ')" = 4 ] &&
				"$EM" run -f "$L4/matrix.ini" lvface -- python -c 'import torch, numpy' 2>/dev/null; then
				t_pass "apply from the mirror: four environments built"
			else
				t_fail "apply from the mirror" "exit $T_RC" "$T_OUT" "$T_ERR"
			fi
			httpd_nginx_stop "$NG" >/dev/null 2>&1
			L5="$T_TMP/linux-offline"
			mkdir -p "$L5"
			cp "$L4/matrix.ini" "$L5/"
			t_run sh -c "cd '$L5' && '$EM' plan --offline && '$EM' apply --offline"
			if [ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c ' built ')" = 4 ] &&
				same_locks "$L4" "$L5" vlm asr tts lvface; then
				t_pass "with the server gone, --offline plans and applies the same from the cache"
			else
				t_fail "offline" "exit $T_RC" "$T_OUT" "$T_ERR"
			fi
		else
			t_skip "apply from the mirror" "no Python 3.12 and 3.11 here"
		fi
		httpd_nginx_stop "$NG" >/dev/null 2>&1
	else
		t_fail "start nginx" "$(cat "$T_TMP/ng.err")"
	fi
else
	t_skip "mirror served by nginx, applied from it" "nginx is not installed (apt-get install nginx)"
fi

t_done
