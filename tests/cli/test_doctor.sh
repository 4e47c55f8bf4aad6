#!/bin/sh
# test_doctor.sh - the NVIDIA driver and GPUs in `plan` and `doctor`, from
# recorded hosts (ENVMATRIX_SYSROOT=tests/fixtures/hosts/NAME), a fake
# nvidia-smi, and this machine's own detection
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
HOSTS="$top/tests/fixtures/hosts"
IDX="$T_TMP/idx"
"$MKINDEX" "$top/tests/indexes/pytorch.spec" "$IDX" >/dev/null &&
	"$MKINDEX" "$top/tests/indexes/pypi.spec" "$IDX" >/dev/null ||
	{ t_fail "build the test indexes"; t_done; exit 1; }

M="$T_TMP/m"
mkdir -p "$M"
cat >"$M/matrix.ini" <<EOF
[matrix]
platform = linux-x86_64
index-url = $IDX/pypi
torch-index-url = $IDX/torch

[vlm]
python = 3.12.10
torch = 2.8.0
cuda = 12.6
EOF
on() { # HOST CMD: run CMD in the matrix's folder with HOST's /sys and /proc
	t_run env ENVMATRIX_SYSROOT="$HOSTS/$1" sh -c "cd '$M' && $2"
}

# ---- plan: the detected driver and GPU ----
on nvidia-h200 "'$EM' plan"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm .*2\.8\.0+cu126 .*cu126 ' &&
	! printf '%s\n' "$T_ERR" | grep -q 'warning'; then
	t_pass "H200 with driver 580.159.04: the cu126 workload passes the checks"
else
	t_fail "H200 plan" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect_err "driver 470: cu126 fails naming the driver needed" 1 \
	"workload 'vlm': .*matrix.ini:9: cuda 12.6 (cu126) needs an NVIDIA driver >= 525.60.13 on Linux, but the driver is 470.256.02 (detected from /sys/module/nvidia/version); update the driver" -- \
	env ENVMATRIX_SYSROOT="$HOSTS/rtx3090-driver470" sh -c "cd '$M' && '$EM' plan"
t_expect_err "RTX 5090 (sm_120): a cu126 build fails naming cu128" 1 \
	"matrix.ini:9: torch 2.8.0+cu126 (cu126) was built for sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90, which the NVIDIA GeForce RTX 5090 (compute capability 12.0, from its name) cannot run; choose cuda = cu128 or cu129 instead" -- \
	env ENVMATRIX_SYSROOT="$HOSTS/rtx5090" sh -c "cd '$M' && '$EM' plan"
t_expect_err "cuda-driver in the matrix wins over the detected driver" 1 \
	"the driver is 520.61.05 (cuda-driver" -- \
	env ENVMATRIX_SYSROOT="$HOSTS/nvidia-h200" sh -c "cd '$M' && sed 's/^cuda = 12.6/cuda = 12.6\ncuda-driver = 520.61.05/' matrix.ini >m2.ini && '$EM' plan -f m2.ini --check"
on nvidia-h200 "ENVMATRIX_CUDA_DRIVER=550.54.14 '$EM' plan"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_ERR" | grep -q "warning: workload 'vlm': cu126 is built with CUDA 12.6 Update 3, which wants an NVIDIA driver >= 560.35.05; driver 550.54.14 (ENVMATRIX_CUDA_DRIVER) runs it.*update the driver to 560.35.05 or newer"; then
	t_pass "a driver below the toolkit's own is a warning, not an error"
else
	t_fail "strict minimum warning" "exit $T_RC" "$T_ERR"
fi
on nvidia-h200 "ENVMATRIX_CUDA_DRIVER=550.54.14 '$EM' -q plan"
[ "$T_RC" = 0 ] && [ -z "$T_ERR" ] && t_pass "-q hides warnings" || t_fail "-q hides warnings" "$T_ERR"

# cuda = auto skips a variant the GPU cannot run
A="$T_TMP/auto"
mkdir -p "$A"
sed 's/^cuda = 12.6$/cuda = auto/' "$M/matrix.ini" >"$A/matrix.ini"
t_run env ENVMATRIX_SYSROOT="$HOSTS/rtx5090" sh -c "cd '$A' && '$EM' plan"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm .*2\.8\.0+cpu .*cpu ' &&
	printf '%s\n' "$T_ERR" | grep -q "warning: workload 'vlm': cuda = auto skipped cu126: torch 2.8.0+cu126 (cu126) was built for .*choose cuda = cu128"; then
	t_pass "auto on an RTX 5090 skips cu126 and says why"
else
	t_fail "auto skips" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run env ENVMATRIX_SYSROOT="$HOSTS/nvidia-h200" sh -c "cd '$A' && '$EM' plan"
printf '%s\n' "$T_OUT" | grep -q '^vlm .*2\.8\.0+cu126 .*cu126 ' &&
	t_pass "auto on the H200 takes cu126 from the detected driver" || t_fail "auto H200" "$T_OUT" "$T_ERR"
t_run sh -c "cd '$A' && '$EM' plan"
printf '%s\n' "$T_OUT" | grep -q '^vlm .*2\.8\.0+cpu .*cpu ' &&
	t_pass "no GPU: auto is cpu" || t_fail "no GPU auto" "$T_OUT" "$T_ERR"

# another platform is never checked against this machine
W="$T_TMP/win"
mkdir -p "$W"
sed 's/^platform = .*/platform = windows-x86_64/' "$M/matrix.ini" >"$W/matrix.ini"
t_run env ENVMATRIX_SYSROOT="$HOSTS/rtx3090-driver470" sh -c "cd '$W' && '$EM' plan"
[ "$T_RC" = 0 ] && t_pass "a windows workload ignores this machine's driver" || t_fail "windows" "$T_ERR"

# ---- doctor ----
on nvidia-h200 "'$EM' doctor --json --offline"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
nv = d["nvidia"]
g = nv["gpus"][0]
w = d["workloads"][0]
assert d["ok"] is True
assert nv["driver"] == "580.159.04" and nv["cuda"] == "13.0", nv
assert nv["driver_source"] == "/sys/module/nvidia/version"
assert g["name"] == "NVIDIA H200" and g["compute_capability"] == "9.0", g
assert g["compute_capability_inferred"] is True
assert g["pci_bus_id"] == "0000:00:06.0"
assert g["uuid"] == "GPU-34552e40-8e79-f54d-7e49-27edb407edd5"
assert w["name"] == "vlm" and w["can_run"] is True and w["reason"] is None, w
assert w["variant"] == "cu126" and w["torch"] == "2.8.0+cu126", w
assert isinstance(w["disk_free_bytes"], int)
assert d["indexes"][0]["reachable"] is None
assert d["host"]["os"] == "linux" and d["host"]["cpu"]["cores"] >= 1
' 2>"$T_TMP/py.err"; then
	t_pass "doctor --json on the H200: driver, CUDA 13.0, GPU 9.0, vlm can run"
else
	t_fail "doctor --json H200" "exit $T_RC" "$T_OUT" "$(cat "$T_TMP/py.err")" "$T_ERR"
fi
on rtx3090-driver470 "'$EM' doctor --offline"
if [ "$T_RC" = 4 ] &&
	printf '%s\n' "$T_OUT" | grep -q '^driver  *NVIDIA 470.256.02 (from /sys/module/nvidia/version), CUDA 11.4 (from the driver table)$' &&
	printf '%s\n' "$T_OUT" | grep -q '^gpu 0  *NVIDIA GeForce RTX 3090, memory unknown, compute capability 8.6 (from its name), 0000:01:00.0' &&
	printf '%s\n' "$T_OUT" | grep -q '^workload  *vlm: cannot run: cu126 needs an NVIDIA driver >= 525.60.13 on Linux, but the driver is 470.256.02'; then
	t_pass "doctor on the old driver: exit 4 and the reason"
else
	t_fail "doctor old driver" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# a fake nvidia-smi printing the H200's CSV (no driver files)
cat >"$T_TMP/nvidia-smi" <<'SMI'
#!/bin/sh
case "$*" in
*--query-gpu=name,driver_version,memory.total,compute_cap,pci.bus_id,uuid*--format=csv,noheader,nounits*)
	echo 'NVIDIA H200, 580.159.04, 143771, 9.0, 00000000:00:06.0, GPU-34552e40-8e79-f54d-7e49-27edb407edd5' ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
SMI
chmod +x "$T_TMP/nvidia-smi"
t_run env ENVMATRIX_NVIDIA_SMI="$T_TMP/nvidia-smi" sh -c "cd '$M' && '$EM' doctor --json --offline"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
nv = d["nvidia"]; g = nv["gpus"][0]
assert nv["driver_source"] == "nvidia-smi" and nv["cuda"] == "13.0", nv
assert g["memory_mib"] == 143771 and g["compute_capability"] == "9.0", g
assert g["compute_capability_inferred"] is False and g["source"] == "nvidia-smi", g
' 2>"$T_TMP/py.err"; then
	t_pass "doctor with nvidia-smi's CSV: memory and measured compute capability"
else
	t_fail "fake nvidia-smi" "exit $T_RC" "$T_OUT" "$(cat "$T_TMP/py.err")" "$T_ERR"
fi

# this machine, every real source
t_run env -u ENVMATRIX_SYSROOT sh -c "cd '$T_TMP' && '$EM' doctor"
if [ ! -e /proc/driver/nvidia/version ] && ! command -v nvidia-smi >/dev/null 2>&1; then
	if [ "$T_RC" = 0 ] &&
		printf '%s\n' "$T_OUT" | grep -q '^driver  *no NVIDIA driver (no /proc/driver/nvidia/version, no libnvidia-ml.so.1, no nvidia-smi)$' &&
		printf '%s\n' "$T_OUT" | grep -q '^host  *linux-'; then
		t_pass "this machine: no NVIDIA driver, reported cleanly"
	else
		t_fail "real detection" "exit $T_RC" "$T_OUT" "$T_ERR"
	fi
else
	[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^driver  *NVIDIA ' &&
		t_pass "this machine: its NVIDIA driver found" || t_fail "real detection (GPU)" "$T_OUT" "$T_ERR"
fi

# indexes: a local one is present, a closed port is not
cat >>"$M/matrix.ini" <<'DOWN'

[down]
path = down
python = 3.12.10
index-url = http://127.0.0.1:9/simple
DOWN
on nvidia-h200 "'$EM' doctor"
if [ "$T_RC" = 4 ] && printf '%s\n' "$T_OUT" | grep -q "^index  *$IDX/pypi: present$" &&
	printf '%s\n' "$T_OUT" | grep -q '^index  *http://127.0.0.1:9/simple: unreachable: ' &&
	printf '%s\n' "$T_OUT" | grep -q '^workload  *down: can run'; then
	t_pass "doctor checks each index once and exits 4 when one is down"
else
	t_fail "doctor indexes" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_expect_err "doctor takes one matrix" 2 "name one matrix" -- "$EM" doctor a.ini b.ini
t_expect_err "doctor: a missing matrix named" 1 "no such file" -- "$EM" doctor "$T_TMP/nope.ini"

# ---- NVML: a stand-in libnvidia-ml.so.1 (this machine has no GPU) ----
NVML=$(dirname "$EM")/tools/nvml
if [ -f "$NVML/libnvidia-ml.so.1" ]; then
	t_run env -u ENVMATRIX_SYSROOT LD_LIBRARY_PATH="$NVML${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		"$EM" doctor --json --offline
	printf '%s\n' "$T_OUT" >"$T_TMP/nvml.json"
	if [ -z "$(ls /proc/driver/nvidia/version 2>/dev/null)" ] && python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))["nvidia"]
assert n["driver"] == "580.159.04" and n["driver_source"] == "nvml", n
assert n["cuda"] == "13.0" and n["cuda_from_table"] is False, n
g = n["gpus"]
assert [x["name"] for x in g] == ["NVIDIA H200", "NVIDIA GeForce RTX 5090"], g
assert [x["compute_capability"] for x in g] == ["9.0", "12.0"], g
assert not any(x["compute_capability_inferred"] for x in g), g
assert [x["memory_mib"] for x in g] == [143771, 32607], g
assert g[0]["pci_bus_id"] == "0000:00:06.0" and g[1]["uuid"].startswith("GPU-0b7c"), g
assert all(x["source"] == "nvml" for x in g), g
' "$T_TMP/nvml.json" 2>"$T_TMP/py.err"; then
		t_pass "NVML loaded at run time: driver, CUDA 13.0 and both GPUs with their capabilities"
	elif [ -n "$(ls /proc/driver/nvidia/version 2>/dev/null)" ]; then
		t_skip "NVML loaded at run time (a stand-in)" "this machine has a real NVIDIA driver, which wins over the stand-in NVML"
	else
		t_fail "NVML stand-in" "exit $T_RC" "$(cat "$T_TMP/py.err")" "$T_OUT" "$T_ERR"
	fi
	t_run env -u ENVMATRIX_SYSROOT FAKE_NVML_FAIL=init ENVMATRIX_NVIDIA_SMI="$T_TMP/none" \
		LD_LIBRARY_PATH="$NVML${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$EM" doctor --offline
	if [ -n "$(ls /proc/driver/nvidia/version 2>/dev/null)" ] ||
		{ [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^driver  *no NVIDIA driver'; }; then
		t_pass "NVML that fails to start (driver not loaded) is no driver, not an error"
	else
		t_fail "NVML init failure" "exit $T_RC" "$T_OUT" "$T_ERR"
	fi
else
	t_fail "the stand-in NVML library is built by 'make tests'" "$NVML"
fi

t_done
