#!/bin/sh
# test_plan.sh - `envmatrix plan` end to end: the design brief's matrices
# against PyTorch- and PyPI-shaped indexes built by mkindex, locks, changes,
# --check, --json, drivers and variants, explanations, mistakes
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
"$MKINDEX" "$top/tests/indexes/pytorch.spec" "$IDX" >/dev/null &&
	"$MKINDEX" "$top/tests/indexes/pypi.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test indexes"; t_done; exit 1; }

# a copy of a shipped matrix, pointed at the test indexes
matrix() { # SRC DIR
	mkdir -p "$2"
	sed -e "s|^index-url = .*|index-url = $IDX/pypi\nfind-links = $IDX/wheels|" \
		-e "s|^torch-index-url = .*|torch-index-url = $IDX/torch|" "$1" >"$2/matrix.ini"
}

# lock_has DIR WORKLOAD NAME VERSION: the lock pins NAME at VERSION
lock_has() {
	"$EM" debug lock "$1/pylock.$2.toml" | grep -q "^package	$3	$4	"
}

# ---- the four-workload Windows matrix, planned on Linux ----
W="$T_TMP/win"
matrix "$top/matrices/rtx3090-windows.ini" "$W"
t_run sh -c "cd '$W' && '$EM' plan"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm .*windows-x86_64 .*2\.8\.0+cu126 .*cu126 .*new$' &&
	printf '%s\n' "$T_OUT" | grep -q '^lvface .*3\.11\.9 .*windows-x86_64 .*2\.6\.0+cu124 .*cu124 .*new$'; then
	t_pass "windows matrix: four workloads planned on Linux"
else
	t_fail "windows matrix" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
for w in vlm asr tts lvface; do
	[ -f "$W/pylock.$w.toml" ] && t_pass "pylock.$w.toml written" || t_fail "pylock.$w.toml written"
done
lock_has "$W" lvface numpy 1.26.4 && lock_has "$W" lvface torch 2.6.0+cu124 &&
	lock_has "$W" lvface onnxruntime-gpu 1.19.2 && lock_has "$W" lvface insightface 0.7.3 &&
	t_pass "lvface keeps numpy 1.26.4, torch 2.6.0+cu124, onnxruntime-gpu 1.19.2" ||
	t_fail "lvface pins" "$("$EM" debug lock "$W/pylock.lvface.toml")"
lock_has "$W" vlm torch 2.8.0+cu126 && lock_has "$W" asr openai-whisper 20250625 &&
	t_pass "vlm and asr take torch 2.8.0+cu126" || t_fail "vlm/asr torch"
if cat "$W"/pylock.*.toml | grep -q 'nvidia-'; then
	t_fail "windows locks hold no Linux-only nvidia-* wheel"
else
	t_pass "windows locks hold no Linux-only nvidia-* wheel"
fi
grep -q '/torch/cu124/' "$W/pylock.lvface.toml" && ! grep -q 'name = "numpy"' -A2 "$W/pylock.vlm.toml" | grep -q torch/ &&
	t_pass "torch comes from its variant index, numpy from index-url" || t_fail "index routing"
grep -q 'win_amd64' "$W/pylock.vlm.toml" && ! grep -q 'manylinux' "$W/pylock.vlm.toml" &&
	t_pass "windows wheels chosen" || t_fail "windows wheels chosen"
t_expect "every lock reads back as PEP 751" 0 "" -- sh -c "for f in '$W'/pylock.*.toml; do '$EM' debug lock \"\$f\" >/dev/null || exit 1; done"

# ---- a second plan changes nothing ----
cp "$W/pylock.vlm.toml" "$T_TMP/vlm.before"
t_run sh -c "cd '$W' && '$EM' plan"
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c 'unchanged$')" = 4 ] &&
	t_pass "re-planning: four locks unchanged" || t_fail "re-planning" "$T_OUT"
cmp -s "$W/pylock.vlm.toml" "$T_TMP/vlm.before" && t_pass "the lock is byte-identical" ||
	t_fail "the lock is byte-identical"
t_expect "plan --check: up to date" 0 "" -- sh -c "cd '$W' && '$EM' plan --check >/dev/null"

# ---- a change is reported, --check catches it without writing ----
sed -i 's/^    openai-whisper==20250625$/    openai-whisper==20250625\n    pillow/' "$W/matrix.ini"
cp "$W/pylock.asr.toml" "$T_TMP/asr.before"
t_run sh -c "cd '$W' && '$EM' plan --check"
[ "$T_RC" = 3 ] && printf '%s\n' "$T_ERR" | grep -q 'out of date' &&
	t_pass "plan --check exits 3 when a lock is out of date" || t_fail "plan --check stale" "exit $T_RC" "$T_ERR"
cmp -s "$W/pylock.asr.toml" "$T_TMP/asr.before" && t_pass "plan --check writes nothing" ||
	t_fail "plan --check writes nothing"
t_run sh -c "cd '$W' && '$EM' plan asr"
[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^asr: + pillow ' &&
	t_pass "the added package is listed" || t_fail "added package" "$T_OUT"
sed -i 's/^    pillow$/    pillow\n    pyyaml/' "$W/matrix.ini"
t_run sh -c "cd '$W' && '$EM' plan --json asr"
printf '%s\n' "$T_OUT" | grep -q '"lock_status": "changed"' &&
	printf '%s\n' "$T_OUT" | grep -q '"name": "pyyaml",' &&
	printf '%s\n' "$T_OUT" | grep -q '"change": "added"' &&
	t_pass "plan --json reports the change" || t_fail "plan --json" "$T_OUT"

# ---- the existing lock's versions are kept until --upgrade ----
sed -i 's/^    numpy==1.26.4$/    numpy/' "$W/matrix.ini"
t_run sh -c "cd '$W' && '$EM' plan lvface"
lock_has "$W" lvface numpy 1.26.4 && t_pass "unpinned numpy stays at the locked 1.26.4" ||
	t_fail "lock preference" "$T_OUT"
t_run sh -c "cd '$W' && '$EM' plan --upgrade lvface"
printf '%s\n' "$T_OUT" | grep -q '^lvface: numpy 1.26.4 -> 2\.' &&
	t_pass "plan --upgrade moves numpy to 2.x" || t_fail "plan --upgrade" "$T_OUT"

# ---- the Linux matrix: nvidia-* dependencies of the CUDA wheels ----
L="$T_TMP/linux"
matrix "$top/matrices/rtx3090-linux.ini" "$L"
t_run sh -c "cd '$L' && '$EM' plan"
[ "$T_RC" = 0 ] && lock_has "$L" lvface nvidia-cublas-cu12 12.4.5.8 &&
	lock_has "$L" vlm nvidia-cublas-cu12 12.6.4.1 && lock_has "$L" vlm triton 3.4.0 &&
	t_pass "linux matrix: CUDA wheels bring their nvidia-* pins" || t_fail "linux matrix" "$T_OUT" "$T_ERR"
grep -q 'manylinux' "$L/pylock.vlm.toml" && ! grep -q 'win_amd64' "$L/pylock.vlm.toml" &&
	t_pass "linux wheels chosen" || t_fail "linux wheels chosen"

# ---- no solution: the chain of reasons, naming the workload and lines ----
cat >>"$L/matrix.ini" <<'EOF'

[clash]
python = 3.11.9
torch = 2.6.0
cuda = 12.4
packages =
    numpy==1.26.4
    opencv-python>=4.12
EOF
t_run sh -c "cd '$L' && '$EM' plan clash"
if [ "$T_RC" = 1 ] &&
	printf '%s\n' "$T_ERR" | grep -q "workload 'clash': clash needs numpy==1.26.4, but opencv-python 4\.1[23]\.[0-9.]* needs numpy" &&
	printf '%s\n' "$T_ERR" | grep -q 'Because .*opencv-python' &&
	printf '%s\n' "$T_ERR" | grep -q 'clash requires numpy==1.26.4 (matrix.ini:[0-9]*)'; then
	t_pass "an impossible workload explains itself"
else
	t_fail "explanation" "exit $T_RC" "$T_ERR"
fi
printf '%s\n' "$T_OUT" | grep -q '^clash .* failed$' && t_pass "the table marks it failed" ||
	t_fail "table marks failure" "$T_OUT"
t_run sh -c "cd '$L' && '$EM' plan"
[ "$T_RC" = 1 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c 'unchanged$')" = 4 ] &&
	t_pass "one failing workload does not stop the others" || t_fail "independent workloads" "$T_OUT"

# ---- drivers and variants ----
t_expect_err "linux: cu124 needs a 525.60.13 driver" 1 \
	'cuda 12.4 (cu124) needs an NVIDIA driver >= 525.60.13 on Linux, but the driver is 520.61.05' -- \
	sh -c "cd '$L' && ENVMATRIX_CUDA_DRIVER=520.61.05 '$EM' plan lvface"
t_expect_err "windows: cu126 needs a 528.33 driver" 1 \
	'needs an NVIDIA driver >= 528.33 on Windows' -- \
	sh -c "cd '$W' && ENVMATRIX_CUDA_DRIVER=527.41 '$EM' plan vlm"
A="$T_TMP/auto"
mkdir -p "$A"
cat >"$A/matrix.ini" <<EOF
[matrix]
platform = linux-x86_64
index-url = $IDX/pypi
torch-index-url = $IDX/torch

[gpu]
python = 3.12.10
torch = 2.6.0
cuda = auto
EOF
t_run sh -c "cd '$A' && ENVMATRIX_CUDA_DRIVER=560.35.03 '$EM' plan"
printf '%s\n' "$T_OUT" | grep -q '^gpu .*2\.6\.0+cu126 .*cu126' &&
	t_pass "cuda = auto takes the newest variant the driver runs" || t_fail "auto with driver" "$T_OUT" "$T_ERR"
t_run sh -c "cd '$A' && '$EM' plan"
printf '%s\n' "$T_OUT" | grep -q '^gpu .*2\.6\.0+cpu .*cpu' &&
	t_pass "cuda = auto without a driver is cpu" || t_fail "auto without driver" "$T_OUT" "$T_ERR"
sed -i 's/^\[gpu\]$/[gpu]\ncuda-driver = 550.54.14/' "$A/matrix.ini"
t_run sh -c "cd '$A' && '$EM' plan"
printf '%s\n' "$T_OUT" | grep -q '^gpu .*cu126' &&
	t_pass "the matrix's cuda-driver plans for another host" || t_fail "cuda-driver key" "$T_OUT" "$T_ERR"

# ---- Python ----
sed -i -e 's/^python = 3.12.10$/python = 3.12/' -e 's/^platform = linux-x86_64$/platform = windows-x86_64/' "$A/matrix.ini"
t_expect_err "python = 3.12 for another platform needs the exact version" 1 \
	"give the exact version" -- sh -c "cd '$A' && '$EM' plan"
H="$T_TMP/host"
mkdir -p "$H"
cat >"$H/matrix.ini" <<EOF
[matrix]
index-url = $IDX/pypi

[tool]
python = 3.11
packages =
    numpy
EOF
t_run sh -c "cd '$H' && '$EM' plan"
if [ "$T_RC" = 0 ]; then
	printf '%s\n' "$T_OUT" | grep -q '^tool  *3\.11\.[0-9]' && t_pass "python = 3.11 takes an interpreter of this machine" ||
		t_fail "python series on the host" "$T_OUT"
elif printf '%s\n' "$T_ERR" | grep -q 'no Python 3.11 interpreter found'; then
	t_pass "python = 3.11 without an interpreter says what to do"
	t_skip "python = 3.11 takes an interpreter of this machine" "no CPython 3.11 on this machine"
else
	t_fail "python series on the host" "$T_ERR"
fi

# ---- mistakes ----
t_expect_err "an unknown workload is named" 1 "no workload 'nope'" -- \
	sh -c "cd '$W' && '$EM' plan nope"
printf '[matrix]\n\n[w]\npyton = 3.12.10\n' >"$T_TMP/bad.ini"
t_expect_err "a matrix mistake names file, line and key" 1 \
	"bad.ini:4: unknown key 'pyton' in \[w\] (did you mean 'python'?)" -- "$EM" plan -f "$T_TMP/bad.ini"
t_expect_err "no matrix.ini here" 1 "no matrix.ini here" -- sh -c "cd '$T_TMP' && '$EM' plan"
printf '[matrix]\nindex-url = https://pypi.org/simple\n\n[w]\npython = 3.12.10\npackages =\n    six\n' >"$T_TMP/net.ini"
t_expect_err "an unreachable index is named in the error" 1 "https://pypi.org/simple/six/: " -- \
	env ENVMATRIX_HTTP_RETRIES=0 https_proxy=http://127.0.0.1:9 "$EM" plan -f "$T_TMP/net.ini"
t_expect_err "plan --help" 0 "" -- sh -c "'$EM' plan --help >&2"

t_done
