#!/bin/sh
# test_verify.sh - `envmatrix verify`, the verification apply makes before
# the swap, and `status` showing its result, with a real interpreter and
# stand-in wheels (tests/indexes/verify.spec): a torch whose CUDA build,
# GPU and capability follow STUB_* variables, an onnxruntime-gpu, a
# package whose import raises, one that hangs. The host's GPU comes from
# ENVMATRIX_SYSROOT (the H200 fixture's /proc/driver/nvidia/version).
#
# Shows: all checks pass (table, exit 0); torch.version.cuda not matching
# the variant; an import error keeps the old environment (no swap); a
# failing verify = command; --no-verify; a hang that times out; a Python
# that crashes or prints garbage; `verify --venv` on a venv made by
# `python -m venv` and pip; --json; the verify key's errors.
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"
unset ENVMATRIX_SYSROOT ENVMATRIX_VERIFY_TIMEOUT STUB_TORCH_CUDA STUB_TORCH_GPU STUB_TORCH_CC \
	STUB_TORCH_ARCHS STUB_ORT_PROVIDERS STUB_HANG
"$MKINDEX" "$top/tests/indexes/verify.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }

PY= V=
while read -r ver impl src path; do
	case $ver in *t) continue ;; esac
	[ "$impl" = cpython ] || continue
	PY=$path V=$ver
	break
done <<EOF
$("$EM" python list 2>/dev/null)
EOF
if [ -z "$PY" ]; then
	t_skip "every check" "no CPython 3 interpreter (apt-get install python3)"
	t_done
	exit
fi
echo "# python $V ($PY)"

# a host with an NVIDIA driver: the recorded H200 host (driver 580.159.04,
# "NVIDIA H200", compute capability 9.0 from its name)
GPUROOT="$top/tests/fixtures/hosts/nvidia-h200"

M="$T_TMP/m"
mkdir -p "$M"
write_matrix() { # EXTRA_PACKAGE VERIFY_COMMAND
	cat >"$M/matrix.ini" <<EOF
[matrix]
index-url = $IDX/simple
torch-index-url = $IDX/torch

[vlm]
path = vlm
python = $V
torch = 2.8.0
cuda = 12.6
packages =
    pillowish
    onnxruntime-gpu
    $1
verify =
    python -c "import torch, sys; print('torch', torch.__version__, sys.prefix)"
    pillowish-hello
    $2
EOF
}
write_matrix "" ""
A="$M/vlm/.venv"

# row NAME: the table row for a check (the columns after its name)
row() {
	printf '%s\n' "$T_OUT" | grep -F "$1 " | head -1 | sed "s/^$1  *//"
}

# ---- all pass on a GPU host ----
t_run env ENVMATRIX_SYSROOT="$GPUROOT" STUB_TORCH_GPU="NVIDIA H200" "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm  *built ' && [ -f "$A/envmatrix-verify.json" ]; then
	t_pass "apply verifies the new venv and keeps the results in it"
else
	t_fail "apply on a GPU host" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

t_run env ENVMATRIX_SYSROOT="$GPUROOT" STUB_TORCH_GPU="NVIDIA H200" "$EM" verify -f "$M/matrix.ini"
head=$(printf '%s\n' "$T_OUT" | sed -n 2p)
case $head in
"check "*" expected "*" got "*" result") ok=1 ;;
*) ok= ;;
esac
if [ "$T_RC" = 0 ] && [ -n "$ok" ] &&
	[ "$(row 'import torch' | tr -s ' ')" = "- 2.8.0+cu126 ok" ] &&
	[ "$(row 'torch.version.cuda' | tr -s ' ')" = "12.6 12.6 ok" ] &&
	[ "$(row 'torch.__version__' | tr -s ' ')" = "2.8.0+cu126 2.8.0+cu126 ok" ] &&
	[ "$(row 'torch.cuda.is_available()' | tr -s ' ')" = "True True ok" ] &&
	[ "$(row 'torch.cuda device 0' | tr -s ' ')" = "NVIDIA H200 NVIDIA H200 ok" ] &&
	[ "$(row 'torch.cuda capability' | tr -s ' ')" = "9.0 9.0 ok" ] &&
	[ "$(row 'torch.cuda tensor' | tr -s ' ')" = "4.0 4.0 ok" ] &&
	[ "$(row 'import PIL_ish (pillowish)' | tr -s ' ')" = "- 1.0 ok" ] &&
	[ "$(row 'import onnxruntime (onnxruntime-gpu)' | tr -s ' ')" = "- 1.19.2 ok" ] &&
	row 'onnxruntime CUDAExecutionProvider' | grep -q ' ok$' &&
	row 'verify: pillowish-hello' | grep -q 'exit 0  *exit 0  *ok$' &&
	row 'dependencies' | grep -q 'consistent  *3 distributions  *ok$' &&
	printf '%s\n' "$T_OUT" | grep -q '^[0-9]* passed in '; then
	t_pass "verify: every check passes on a GPU host (table, exit 0)"
else
	t_fail "verify all pass" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
if printf '%s\n' "$T_OUT" | grep -q 'failed\|skipped'; then
	t_fail "nothing fails or is skipped on the GPU host" "$T_OUT"
else
	t_pass "nothing fails or is skipped on the GPU host"
fi
# the launcher was run by the venv's python: it reports the venv
t_run "$A/bin/pillowish-hello"
[ "$T_OUT" = "pillowish 1.0 $A" ] && t_pass "the stand-in launcher works" || t_fail "launcher" "$T_OUT" "$T_ERR"

t_run "$EM" verify -f "$M/matrix.ini" vlm
if [ "$T_RC" = 0 ] && row 'torch.cuda.is_available()' | grep -q '^-  *-  *skipped$' &&
	printf '%s\n' "$T_OUT" | grep -q '^    no NVIDIA GPU on this host$' &&
	! printf '%s\n' "$T_OUT" | grep -q 'torch.cuda device'; then
	t_pass "without a GPU the CUDA checks are skipped, saying why"
else
	t_fail "no GPU" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- torch's CUDA does not match the variant ----
t_run env ENVMATRIX_SYSROOT="$GPUROOT" STUB_TORCH_GPU="NVIDIA H200" STUB_TORCH_CUDA=12.4 \
	"$EM" verify -f "$M/matrix.ini"
if [ "$T_RC" = 4 ] && [ "$(row 'torch.version.cuda' | tr -s ' ')" = "12.6 12.4 failed" ] &&
	printf '%s\n' "$T_OUT" | grep -q '^1 failed, [0-9]* passed in '; then
	t_pass "torch.version.cuda 12.4 for cu126 fails, naming expected and got (exit 4)"
else
	t_fail "cuda mismatch" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" status -f "$M/matrix.ini"
if printf '%s\n' "$T_OUT" | grep -q '^vlm  *current .* FAILED  *'"$A"'$' &&
	printf '%s\n' "$T_OUT" | grep -q "^vlm: verification failed 20[0-9-]*T[0-9:]*Z: 1 failed, [0-9]* passed: torch.version.cuda: expected '12.6', got '12.4'\$"; then
	t_pass "status shows the stored failure"
else
	t_fail "status after a failed verify" "$T_OUT" "$T_ERR"
fi
t_run env STUB_TORCH_ARCHS="sm_80" STUB_ORT_PROVIDERS=CPUExecutionProvider ENVMATRIX_SYSROOT="$GPUROOT" \
	STUB_TORCH_GPU="NVIDIA H200" "$EM" verify -f "$M/matrix.ini"
if [ "$T_RC" = 4 ] && row 'torch.cuda arch list' | grep -q 'sm_80  *failed$' &&
	printf '%s\n' "$T_OUT" | grep -q 'no code for sm_90' &&
	row 'onnxruntime CUDAExecutionProvider' | grep -q 'failed$' &&
	printf '%s\n' "$T_OUT" | grep -q '^    got: CPUExecutionProvider$'; then
	t_pass "a build without code for the GPU, and onnxruntime without its CUDA provider, fail"
else
	t_fail "arch list and providers" "exit $T_RC" "$T_OUT"
fi

# ---- the device torch sees is not the host's GPU ----
t_run env ENVMATRIX_SYSROOT="$GPUROOT" STUB_TORCH_GPU="NVIDIA A100-SXM4-80GB" "$EM" verify -f "$M/matrix.ini"
if [ "$T_RC" = 4 ] &&
	printf '%s\n' "$T_OUT" | grep 'torch.cuda device 0' | grep -q 'NVIDIA H200 .*NVIDIA A100.*failed'; then
	t_pass "verify: torch's device is not the detected GPU, failed naming both"
else
	t_fail "device mismatch" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- --json ----
t_run env ENVMATRIX_SYSROOT="$GPUROOT" STUB_TORCH_GPU="NVIDIA H200" "$EM" verify -f "$M/matrix.ini" --json
printf '%s\n' "$T_OUT" >"$T_TMP/v.json"
if [ "$T_RC" = 0 ] && "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
w = d["workloads"][0]
v = w["verify"]
assert w["name"] == "vlm" and v["ok"] is True and v["failed"] == 0, w
c = dict((x["name"], x) for x in v["checks"])
assert c["torch.version.cuda"]["expected"] == "12.6" and c["torch.version.cuda"]["result"] == "ok"
assert c["torch.cuda device 0"]["got"] == "NVIDIA H200"
assert all(isinstance(x["seconds"], float) for x in v["checks"])
' "$T_TMP/v.json"; then
	t_pass "verify --json parses and holds every check"
else
	t_fail "verify --json" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" status -f "$M/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q '^vlm: verified 20[0-9-]*T[0-9:]*Z: [0-9]* passed$' &&
	printf '%s\n' "$T_OUT" | grep -q '^vlm  *current .* ok  *'"$A"'$' &&
	t_pass "status shows the stored success" || t_fail "status after verify" "$T_OUT"
t_run "$EM" status -f "$M/matrix.ini" --json
printf '%s\n' "$T_OUT" >"$T_TMP/s.json"
"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["workloads"][0]["verify"]["ok"] is True' \
	"$T_TMP/s.json" && t_pass "status --json carries the result" || t_fail "status --json" "$T_OUT"

# ---- an import error keeps the old environment ----
listing() {
	(cd "$1" && find . -printf '%y %m %s %l %p\n' | sort && find . -type f -exec sha256sum {} + | sort -k 2)
}
listing "$A" >"$T_TMP/before"
write_matrix badpkg ""
t_run "$EM" apply -f "$M/matrix.ini"
listing "$A" >"$T_TMP/after"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm  *failed ' &&
	printf '%s\n' "$T_ERR" | grep -q "failed verification (1 of [0-9]* checks): import badpkg: RuntimeError: badpkg is broken on purpose; the environment in place was left as it was" &&
	printf '%s\n' "$T_ERR" | grep -q '^import badpkg  *-  *-  *failed$'; then
	t_pass "an import error fails the workload, naming the package and the exception"
else
	t_fail "import error" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
if cmp -s "$T_TMP/before" "$T_TMP/after" && [ ! -e "$A-original" ] && [ ! -e "$A.envmatrix-staging" ]; then
	t_pass "the old environment stays in place, byte for byte (no swap, staging removed)"
else
	t_fail "old environment kept" "$(diff "$T_TMP/before" "$T_TMP/after" | head -5)" "$(ls -a "$M/vlm")"
fi

t_run "$EM" apply -f "$M/matrix.ini" --no-verify
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm  *built ' &&
	ls -d "$A"/lib/python3*/site-packages/badpkg-1.0.dist-info >/dev/null 2>&1 && [ -d "$A-original" ] &&
	[ ! -e "$A/envmatrix-verify.json" ]; then
	t_pass "--no-verify swaps the unverified environment in anyway"
else
	t_fail "--no-verify" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$EM" status -f "$M/matrix.ini"
printf '%s\n' "$T_OUT" | grep -q '^vlm  *current .* yes  *-  *'"$A"'$' &&
	t_pass "status: an unverified environment shows '-'" || t_fail "status unverified" "$T_OUT"
t_run "$EM" verify -f "$M/matrix.ini"
[ "$T_RC" = 4 ] && printf '%s\n' "$T_OUT" | grep -q '^    RuntimeError: badpkg is broken on purpose$' &&
	t_pass "verify finds the broken import in the swapped-in environment" || t_fail "verify badpkg" "$T_OUT" "$T_ERR"

# ---- a failing verify command ----
write_matrix "" "python -c \"import sys; print('smoke test failed'); sys.exit(3)\""
t_run "$EM" apply -f "$M/matrix.ini"
if [ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q "verify: python -c \"import sys; print('smoke test failed'); sys.exit(3)\": smoke test failed (expected 'exit 0', got 'exit 3')" &&
	ls -d "$A"/lib/python3*/site-packages/badpkg-1.0.dist-info >/dev/null 2>&1; then
	t_pass "a verify = command that exits 3 fails the apply, with its output; nothing is swapped"
else
	t_fail "failing verify command" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- a hang times out cleanly ----
write_matrix hangpkg ""
t_run "$EM" apply -f "$M/matrix.ini"
[ "$T_RC" = 0 ] && t_pass "hangpkg applies (it hangs only with STUB_HANG)" || t_fail "apply hangpkg" "$T_OUT" "$T_ERR"
start=$(date +%s)
t_run env STUB_HANG=1 "$EM" verify -f "$M/matrix.ini" --timeout 2
took=$(($(date +%s) - start))
if [ "$T_RC" = 4 ] && [ "$took" -lt 30 ] && row 'import hangpkg' | grep -q '^-  *-  *failed$' &&
	printf '%s\n' "$T_OUT" | grep -q '^    timed out after 2 s (this check did not finish)' &&
	printf '%s\n' "$T_OUT" | grep -q 'verify: pillowish-hello  *exit 0  *exit 0  *ok$'; then
	t_pass "a Python that hangs is stopped at --timeout and the check it was in fails (${took}s)"
else
	t_fail "hang" "exit $T_RC after ${took}s" "$T_OUT" "$T_ERR"
fi
t_run env STUB_HANG=1 ENVMATRIX_VERIFY_TIMEOUT=1 "$EM" apply -f "$M/matrix.ini" --force
[ "$T_RC" = 1 ] && printf '%s\n' "$T_ERR" | grep -q 'import hangpkg: timed out after 1 s' &&
	t_pass "ENVMATRIX_VERIFY_TIMEOUT bounds apply's verification" || t_fail "apply timeout" "$T_OUT" "$T_ERR"
t_expect_err "a bad --timeout is a usage error" 2 "not a number of seconds" -- \
	"$EM" verify -f "$M/matrix.ini" --timeout soon

# ---- a verify command that leaves a process behind, or hangs with one ----
write_matrix "" "python -c \"import subprocess, sys; p = subprocess.Popen(['sleep', '300']); open('$T_TMP/bg.pid', 'w').write(str(p.pid))\""
t_run "$EM" verify -f "$M/matrix.ini"
bg=$(cat "$T_TMP/bg.pid" 2>/dev/null)
sleep 0.5
state=$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$bg/stat" 2>/dev/null)
if [ "$T_RC" = 0 ] && [ -n "$bg" ] && { [ -z "$state" ] || [ "$state" = Z ]; }; then
	t_pass "what a verify command starts does not outlive it"
else
	[ -n "$bg" ] && kill "$bg" 2>/dev/null
	t_fail "verify command's child left running" "exit $T_RC" "pid $bg state $state" "$T_OUT" "$T_ERR"
fi
write_matrix "" "python -c \"import subprocess, time; p = subprocess.Popen(['sleep', '300']); open('$T_TMP/bg2.pid', 'w').write(str(p.pid)); time.sleep(300)\""
t_run "$EM" verify -f "$M/matrix.ini" --timeout 2
bg=$(cat "$T_TMP/bg2.pid" 2>/dev/null)
sleep 0.5
state=$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$bg/stat" 2>/dev/null)
if [ "$T_RC" = 4 ] && [ -n "$bg" ] && { [ -z "$state" ] || [ "$state" = Z ]; } &&
	printf '%s\n' "$T_OUT" | grep -q 'timed out after 2 s'; then
	t_pass "a verify command that hangs is stopped at --timeout with all it started"
else
	[ -n "$bg" ] && kill "$bg" 2>/dev/null
	t_fail "hung verify command's child" "exit $T_RC" "pid $bg state $state" "$T_OUT" "$T_ERR"
fi
write_matrix "" ""

# ---- interpreters that crash, print garbage, hang ----
fake() { # NAME SCRIPT-BODY
	mkdir -p "$T_TMP/$1/bin" "$T_TMP/$1/lib/python3.12/site-packages"
	printf '#!/bin/sh\n%s\n' "$2" >"$T_TMP/$1/bin/python"
	chmod +x "$T_TMP/$1/bin/python"
}
fake crash 'echo "{\"begin\": \"import torch\"}"; echo "Fatal Python error: Segmentation fault" >&2; kill -SEGV $$'
t_run "$EM" verify --venv "$T_TMP/crash"
[ "$T_RC" = 4 ] && printf '%s\n' "$T_OUT" | grep -q '^import torch  *-  *-  *failed$' &&
	printf '%s\n' "$T_OUT" | grep -q 'python died of SIGSEGV (11) during this check; its last output: Fatal Python error: Segmentation fault' &&
	t_pass "a crash fails the check it happened in, with stderr's tail" || t_fail "crash" "exit $T_RC" "$T_OUT" "$T_ERR"
fake garbage 'echo "Welcome to FancyPython"; echo "not json either"'
t_run "$EM" verify --venv "$T_TMP/garbage"
[ "$T_RC" = 4 ] && printf '%s\n' "$T_OUT" | grep -q "python printed no check results, only output such as 'Welcome to FancyPython'" &&
	t_pass "garbage output is a failed verification that quotes it" || t_fail "garbage" "exit $T_RC" "$T_OUT" "$T_ERR"
fake sleeper 'exec sleep 60'
start=$(date +%s)
t_run "$EM" verify --venv "$T_TMP/sleeper" --timeout 1
took=$(($(date +%s) - start))
[ "$T_RC" = 4 ] && [ "$took" -lt 20 ] && printf '%s\n' "$T_OUT" | grep -q "timed out after 1 s" &&
	t_pass "an interpreter that never answers times out (${took}s)" || t_fail "sleeper" "exit $T_RC" "$T_OUT" "$T_ERR"
t_expect_err "--venv on a folder without bin/python is an error (exit 1)" 1 "has no working bin/python" -- \
	"$EM" verify --venv "$T_TMP"
t_expect_err "--venv with a workload is a usage error" 2 "takes no matrix or workload" -- \
	"$EM" verify --venv "$A" vlm

# ---- verify --venv on a venv made by python -m venv and pip ----
P="$T_TMP/pipvenv"
if "$PY" -m venv "$P" >/dev/null 2>&1 && [ -x "$P/bin/pip" ]; then
	TW=$(echo "$IDX"/torch/cu126/torch/*.whl)
	"$P/bin/pip" install -q --no-index --no-deps --disable-pip-version-check \
		"$TW" "$IDX"/simple/pillowish/*.whl >"$T_TMP/pip.log" 2>&1
	t_run "$EM" verify --venv "$P"
	if [ "$T_RC" = 0 ] && [ "$(row 'import torch' | tr -s ' ')" = "- 2.8.0+cu126 ok" ] &&
		[ "$(row 'torch.version.cuda' | tr -s ' ')" = "12.6 12.6 ok" ] &&
		[ "$(row 'import PIL_ish (pillowish)' | tr -s ' ')" = "- 1.0 ok" ] &&
		row 'import pip' | grep -q ' ok$' && row 'sys.prefix' | grep -q 'this venv  *ok$' &&
		[ ! -e "$P/envmatrix-verify.json" ]; then
		t_pass "verify --venv checks a pip-made venv: every distribution imports, torch's CUDA matches its label"
	else
		t_fail "verify --venv pip venv" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$T_TMP/pip.log")"
	fi
	t_run "$EM" verify --venv "$P" --expect-torch 2.8.0+cpu
	[ "$T_RC" = 4 ] && [ "$(row 'torch.__version__' | tr -s ' ')" = "2.8.0+cpu 2.8.0+cu126 failed" ] &&
		[ "$(row 'torch.version.cuda' | tr -s ' ')" = "None 12.6 failed" ] &&
		t_pass "--expect-torch 2.8.0+cpu on a cu126 venv fails both torch checks" ||
		t_fail "--expect-torch" "exit $T_RC" "$T_OUT"
	"$P/bin/pip" install -q --no-index --no-deps --disable-pip-version-check \
		"$IDX"/simple/needy/*.whl "$IDX"/simple/helper/*.whl "$IDX"/simple/badpkg/*.whl >>"$T_TMP/pip.log" 2>&1
	t_run "$EM" verify --venv "$P" --json
	printf '%s\n' "$T_OUT" >"$T_TMP/p.json"
	if [ "$T_RC" = 4 ] && "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = dict((x["name"], x) for x in d["checks"])
assert c["dependencies"]["result"] == "failed", c["dependencies"]
assert "needy 1.0 needs '"'"'helper>=2'"'"', but 1.0 is installed" in c["dependencies"]["detail"], c["dependencies"]
assert c["import badpkg"]["result"] == "failed" and "broken on purpose" in c["import badpkg"]["detail"]
assert d["failed"] == 2, d["failed"]
' "$T_TMP/p.json"; then
		t_pass "an unmet dependency and a broken import are found in a pip-made venv (--json)"
	else
		t_fail "pip venv problems" "exit $T_RC" "$T_OUT" "$T_ERR"
	fi
else
	t_skip "a pip-made venv" "python -m venv with pip does not work with '$PY' (apt-get install python3-venv)"
fi

# ---- the verify key ----
cat >"$T_TMP/bad.ini" <<EOF
[matrix]
index-url = $IDX/simple

[w]
python = $V
verify =
    python -c "print(1)
EOF
t_expect_err "an unclosed quote in verify names the line" 1 "bad.ini:7: verify in \[w\]: 'python -c \"print(1)': a \" is not closed" -- \
	"$EM" status -f "$T_TMP/bad.ini"
t_done
