#!/bin/sh
# test_demo.sh - the offline demo behind `make run` (mk/demo.sh on
# matrices/demo.ini): its committed indexes are exactly what
# matrices/demo/index.spec builds, it applies two workloads on the newest
# two Pythons here with real wheels and no network, builds vlm's sdist-only
# demo-transcribe from source (as openai-whisper is for the ASR workload)
# once, and runs again cleanly without building it again
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
export ENVMATRIX_CACHE_DIR="$T_TMP/cache"

t_run "$MKINDEX" "$top/matrices/demo/index.spec" "$T_TMP/built"
if [ "$T_RC" = 0 ] && diff -r "$T_TMP/built/simple" "$top/matrices/demo/simple" >/dev/null &&
	diff -r "$T_TMP/built/torch" "$top/matrices/demo/torch" >/dev/null; then
	t_pass "the committed demo indexes match index.spec (make demo-index)"
else
	t_fail "the committed demo indexes match index.spec" "$T_ERR" \
		"$(diff -r "$T_TMP/built" "$top/matrices/demo" 2>&1 | head -5)"
fi

D="$T_TMP/demo"
t_run sh "$top/mk/demo.sh" "$EM" "$D"
py_vlm=$(sed -n '/^\[vlm\]/,/^\[/s/^python = //p' "$D/demo.ini")
py_legacy=$(sed -n '/^\[legacy\]/,/^\[/s/^python = //p' "$D/demo.ini")
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^vlm  *built  *$py_vlm  *2\.8\.0+cpu " &&
	printf '%s\n' "$T_OUT" | grep -q "^legacy  *built  *$py_legacy  *2\.6\.0+cpu "; then
	t_pass "make run's demo builds both workloads offline (python $py_vlm and $py_legacy)"
else
	t_fail "the demo applies offline" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
series=$("$EM" python list | awk '$2 == "cpython" && $1 !~ /t$/ {split($1, v, "."); print v[1] "." v[2]}' | sort -u | wc -l)
if [ "$(printf '%s\n' "$T_OUT" | awk '/^[a-z]+ +built/ {print $3}' | sort -u | wc -l)" = 2 ] || [ "$series" -lt 2 ]; then
	t_pass "the two workloads run on two different Pythons where the machine has two"
else
	t_fail "two Pythons" "$T_OUT"
fi
printf '%s\n' "$T_OUT" | grep -q '^numpy 2.2.6 torch 2.8.0+cpu$' &&
	printf '%s\n' "$T_OUT" | grep -q '^numpy 1.26.4 torch 2.6.0+cpu$' &&
	t_pass "each workload's console script reports its own numpy and torch" || t_fail "demo-report" "$T_OUT"
# demo-transcribe: only an sdist in the index, built by its in-tree backend
if printf '%s\n' "$T_OUT" | grep -qx "demo-transcribe 1\.0\.0 built from source with Python $py_vlm, numpy 2\.2\.6 torch 2\.8\.0+cpu" &&
	printf '%s\n' "$T_OUT" | grep -qx 'vlm: 1 package built from source: demo-transcribe' &&
	grep -q 'demo_transcribe-1.0.0.tar.gz' "$D/pylock.vlm.toml" &&
	[ "$(find "$ENVMATRIX_CACHE_DIR/built" -name 'demo_transcribe-1.0.0-py3-none-any.whl' | wc -l)" = 1 ] &&
	grep -q '^demo_backend: built demo_transcribe-1.0.0-py3-none-any.whl' "$ENVMATRIX_CACHE_DIR"/built/*/build.log; then
	t_pass "vlm's sdist-only demo-transcribe is locked as an sdist, built from source once and runs"
else
	t_fail "demo-transcribe built from source" "$T_OUT" "$(cat "$D/pylock.vlm.toml")" \
		"$(find "$ENVMATRIX_CACHE_DIR/built" 2>&1)"
fi
# new_builds: what the cache's build folder gained since $T_TMP/stamp
new_builds() { find "$ENVMATRIX_CACHE_DIR/built" -newer "$T_TMP/stamp" 2>/dev/null; }
sleep 1
touch "$T_TMP/stamp"
printf '%s\n' "$T_OUT" | grep -q "^pip [0-9.]* from $D/envs/vlm/.venv/lib/python" &&
	t_pass "the real pip runs inside vlm's venv" || t_fail "pip in the demo" "$T_OUT"
printf '%s\n' "$T_OUT" | grep -q "^$py_legacy $D/envs/legacy/.venv-legacy DEMO_LEGACY=1\$" &&
	t_pass "legacy runs its Python with its env.DEMO_LEGACY" || t_fail "legacy env" "$T_OUT"
"$EM" debug lock "$D/pylock.legacy.toml" | grep -q '^package	numpy	1.26.4	' &&
	"$EM" debug lock "$D/pylock.vlm.toml" | grep -q '^package	numpy	2.2.6	' &&
	t_pass "the two workloads hold different numpy versions" || t_fail "demo versions"

t_run sh "$top/mk/demo.sh" "$EM" "$D"
[ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | grep -c ' unchanged ')" = 2 ] &&
	printf '%s\n' "$T_OUT" | grep -q '^vlm  *current ' &&
	t_pass "running the demo again changes nothing" || t_fail "demo again" "$T_OUT" "$T_ERR"
t_run sh -c "cd '$D' && '$EM' apply --force -f demo.ini vlm && '$EM' run -f demo.ini vlm demo-transcribe"
if [ "$T_RC" = 0 ] && [ -z "$(new_builds)" ] &&
	printf '%s\n' "$T_OUT" | grep -q '^demo-transcribe 1\.0\.0 built from source'; then
	t_pass "a second run and apply --force install demo-transcribe's built wheel from the cache, never building again"
else
	t_fail "demo-transcribe rebuilt" "exit $T_RC" "$T_OUT" "$T_ERR" "new: $(new_builds)"
fi
t_run sh -c "cd '$D' && ENVMATRIX_CUDA_DRIVER=560.35.03 '$EM' plan -f demo.ini"
printf '%s\n' "$T_OUT" | grep -q '^vlm: torch 2.8.0+cpu -> 2.8.0+cu126 (switched)' &&
	t_pass "a driver switches vlm to the cu126 variant" || t_fail "demo variant switch" "$T_OUT"
t_run sh -c "cd '$D' && ENVMATRIX_CUDA_DRIVER=560.35.03 '$EM' apply -f demo.ini vlm"
[ "$T_RC" = 0 ] && [ "$("$EM" run -f "$D/demo.ini" vlm demo-report)" = "numpy 2.2.6 torch 2.8.0+cu126" ] &&
	t_pass "applying the cu126 plan swaps vlm's torch" || t_fail "apply cu126" "$T_OUT" "$T_ERR"
[ -z "$(new_builds)" ] && "$EM" run -f "$D/demo.ini" vlm demo-transcribe | grep -q 'torch 2\.8\.0+cu126$' &&
	t_pass "the cu126 environment takes demo-transcribe from the cache too" ||
	t_fail "demo-transcribe with cu126" "new: $(new_builds)"
t_run "$EM" rollback -f "$D/demo.ini" vlm
[ "$T_RC" = 0 ] && [ "$("$EM" run -f "$D/demo.ini" vlm demo-report)" = "numpy 2.2.6 torch 2.8.0+cpu" ] &&
	t_pass "rollback vlm brings the cpu torch back" || t_fail "demo rollback" "$T_OUT" "$T_ERR"

# on a GPU host (the recorded H200's /sys and /proc) the demo plans the CUDA
# variant, and its stand-in torch (no torch.version, no torch.cuda) is not
# taken for a real build that cannot see the GPU
t_run env ENVMATRIX_SYSROOT="$top/tests/fixtures/hosts/nvidia-h200" sh "$top/mk/demo.sh" "$EM" "$T_TMP/demo-gpu"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^vlm  *built  *$py_vlm  *2\.8\.0+cu126 " &&
	printf '%s\n' "$T_OUT" | grep -q '^vlm: verified .* passed, [0-9]* skipped$'; then
	t_pass "on an H200 host the demo builds vlm for cu126 and verifies it"
else
	t_fail "the demo on a GPU host" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

t_done
