#!/bin/sh
# test_demo.sh - the offline demo (matrices/demo.ini): its committed indexes
# are exactly what matrices/demo/index.spec builds, and it plans offline
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)

t_run "$MKINDEX" "$top/matrices/demo/index.spec" "$T_TMP/built"
if [ "$T_RC" = 0 ] && diff -r "$T_TMP/built/simple" "$top/matrices/demo/simple" >/dev/null &&
	diff -r "$T_TMP/built/torch" "$top/matrices/demo/torch" >/dev/null; then
	t_pass "the committed demo indexes match index.spec (make demo-index)"
else
	t_fail "the committed demo indexes match index.spec" "$T_ERR" \
		"$(diff -r "$T_TMP/built" "$top/matrices/demo" 2>&1 | head -5)"
fi

D="$T_TMP/demo"
mkdir -p "$D"
cp -R "$top/matrices/demo.ini" "$top/matrices/demo" "$D/"
t_run sh -c "cd '$D' && '$EM' plan -f demo.ini"
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^vlm .*2\.8\.0+cpu .*cpu ' &&
	printf '%s\n' "$T_OUT" | grep -q '^legacy .*2\.6\.0+cpu .*cpu '; then
	t_pass "the demo plans offline"
else
	t_fail "the demo plans offline" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
"$EM" debug lock "$D/pylock.legacy.toml" | grep -q '^package	numpy	1.26.4	' &&
	"$EM" debug lock "$D/pylock.vlm.toml" | grep -q '^package	numpy	2.2.6	' &&
	t_pass "the two workloads hold different numpy versions" || t_fail "demo versions"
t_run sh -c "cd '$D' && ENVMATRIX_CUDA_DRIVER=560.35.03 '$EM' plan -f demo.ini"
printf '%s\n' "$T_OUT" | grep -q '^vlm: torch 2.8.0+cpu -> 2.8.0+cu126 (switched)' &&
	t_pass "a driver switches vlm to the cu126 variant" || t_fail "demo variant switch" "$T_OUT"

t_done
