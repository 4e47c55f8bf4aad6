#!/bin/sh
# tests/cli/test_debug_tags.sh - `envmatrix debug tags` and `debug wheel`
. "$(dirname "$0")/lib.sh"

# ---- debug tags ----
t_run "$EM" debug tags --target win_amd64 --python 3.12
first=$(printf '%s\n' "$T_OUT" | head -n 3 | tr '\n' ' ')
last=$(printf '%s\n' "$T_OUT" | tail -n 1)
count=$(printf '%s\n' "$T_OUT" | wc -l | tr -d ' ')
if [ "$T_RC" = 0 ] && [ "$first" = "cp312-cp312-win_amd64 cp312-abi3-win_amd64 cp312-none-win_amd64 " ] &&
	[ "$last" = "py30-none-any" ] && [ "$count" = 42 ]; then
	t_pass "tags: CPython 3.12 on win_amd64, 42 tags best first"
else
	t_fail "tags: CPython 3.12 on win_amd64" "exit $T_RC, $count lines" "first: $first" "last: $last"
fi

# the same list as the conformance data, for every group it holds
conf="$(dirname "$0")/../fixtures/conformance/tags.tsv"
for group in "3.12 manylinux_2_28_x86_64" "3.11 manylinux_2_39_x86_64" "3.12 macosx_14_0_arm64" \
	"3.11 win_amd64"; do
	py=${group% *}
	plat=${group#* }
	awk -F'\t' -v py="$py" -v plat="$plat" '$1 == py && $2 == plat { print $4 }' "$conf" \
		>"$T_TMP/want"
	"$EM" debug tags --python "$py" --target "$plat" >"$T_TMP/got" 2>"$T_TMP/err"
	if [ $? = 0 ] && cmp -s "$T_TMP/want" "$T_TMP/got"; then
		t_pass "tags: $py $plat matches packaging ($(wc -l <"$T_TMP/want" | tr -d ' ') tags)"
	else
		t_fail "tags: $py $plat matches packaging" "$(diff "$T_TMP/want" "$T_TMP/got" | head -n 5)" \
			"$(cat "$T_TMP/err")"
	fi
done

t_run "$EM" debug tags -p 3.13t -t linux-aarch64-musl1.2
if [ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | head -n 2 | tr '\n' ' ')" = \
	"cp313-cp313t-linux_aarch64 cp313-cp313t-musllinux_1_2_aarch64 " ] &&
	printf '%s\n' "$T_OUT" | grep -q '^cp313-abi3t-musllinux_1_0_aarch64$' &&
	! printf '%s\n' "$T_OUT" | grep -q -- '-abi3-'; then
	t_pass "tags: free-threaded musllinux aarch64"
else
	t_fail "tags: free-threaded musllinux aarch64" "exit $T_RC" "$(printf '%s\n' "$T_OUT" | head -n 3)"
fi

t_run "$EM" debug tags
if [ "$T_RC" = 0 ] && [ "$(printf '%s\n' "$T_OUT" | head -n 1)" = "cp312-cp312-linux_$(uname -m)" ]; then
	t_pass "tags: the host and Python 3.12 by default"
else
	t_fail "tags: the host by default" "exit $T_RC" "$(printf '%s\n' "$T_OUT" | head -n 2)" "$T_ERR"
fi

t_expect "tags: --json" 0 '{
  "target": "windows-arm64",
  "python": "3.12",
  "tags": [' -- sh -c '"$1" debug tags --target windows-arm64 --json | head -n 4' sh "$EM"
t_expect "tags: aliases give the same list" 0 "" -- sh -c \
	'"$1" debug tags -t amd64 -p 3.11 >"$2/a" && "$1" debug tags -t windows-x86_64 -p 3.11 >"$2/b" && cmp "$2/a" "$2/b"' \
	sh "$EM" "$T_TMP"

t_expect_err "tags: unknown platform" 2 "unknown platform 'solaris-sparc' (expected linux-ARCH" -- \
	"$EM" debug tags --target solaris-sparc
t_expect_err "tags: bad python" 2 "invalid Python version 'three'" -- "$EM" debug tags --python three
t_expect_err "tags: 3.12t" 2 "free-threaded builds start at 3.13" -- "$EM" debug tags --python 3.12t
t_expect_err "tags: unknown option" 2 "unknown option '--platform'" -- "$EM" debug tags --platform x
t_expect_err "tags: stray argument" 2 "unexpected argument 'foo'" -- "$EM" debug tags foo
t_expect_err "tags: --target needs a value" 2 "needs a value" -- "$EM" debug tags --target
t_run "$EM" debug tags --help
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q '^usage: envmatrix debug tags'; then
	t_pass "tags: --help"
else
	t_fail "tags: --help" "exit $T_RC"
fi

# ---- debug wheel ----
tab=$(printf '\t')
t_expect "wheel: torch for windows" 0 "name${tab}torch
version${tab}2.8.0+cu126
build${tab}
tags${tab}cp312-cp312-win_amd64
rank${tab}0
tag${tab}cp312-cp312-win_amd64" -- "$EM" debug wheel torch-2.8.0+cu126-cp312-cp312-win_amd64.whl --target windows-x86_64

t_expect "wheel: torch for linux is incompatible" 0 "name${tab}torch
version${tab}2.8.0+cu126
build${tab}
tags${tab}cp312-cp312-win_amd64
rank${tab}incompatible" -- "$EM" debug wheel torch-2.8.0+cu126-cp312-cp312-win_amd64.whl -t linux-x86_64

t_expect "wheel: dual-tagged, build tag, directory ignored" 0 "name${tab}zope-interface
version${tab}7.0.3
build${tab}7_final
tags${tab}cp312-cp312-manylinux1_x86_64,cp312-cp312-manylinux2014_x86_64,cp312-cp312-manylinux_2_17_x86_64,cp312-cp312-manylinux_2_5_x86_64
rank${tab}12
tag${tab}cp312-cp312-manylinux_2_17_x86_64" -- "$EM" debug wheel \
	dist/zope.interface-7.0.3-007_final-cp312-cp312-manylinux_2_5_x86_64.manylinux1_x86_64.manylinux_2_17_x86_64.manylinux2014_x86_64.whl \
	--python 3.12 --target manylinux_2_28_x86_64

t_expect "wheel: python and target options" 0 "rank${tab}1
tag${tab}cp313-cp313t-musllinux_1_2_aarch64" -- sh -c \
	'"$1" debug wheel pkg-1.0-cp313-cp313t-musllinux_1_2_aarch64.whl -p 3.13t -t linux-aarch64-musl1.2 | tail -n 2' \
	sh "$EM"

t_expect "wheel: --json" 0 '{
  "name": "pkg",
  "version": "1.0",
  "build": null,
  "tags": [
    "py2-none-any",
    "py3-none-any"
  ],
  "rank": 29,
  "tag": "py3-none-any",
  "target": "windows-x86_64",
  "python": "3.12"
}' -- "$EM" debug wheel pkg-1.0-py3.py2-none-any.whl --target win_amd64 --json

t_expect "wheel: --json incompatible" 0 '  "rank": null,
  "tag": null,' -- sh -c '"$1" debug wheel pkg-1.0-cp39-cp39-win32.whl -t win_amd64 --json | grep "\"rank\"\\|\"tag\""' sh "$EM"

t_expect_err "wheel: invalid file name" 1 "invalid wheel file name 'torch-2.8.0-cp312-win_amd64.whl'" -- \
	"$EM" debug wheel torch-2.8.0-cp312-win_amd64.whl -t win_amd64
t_expect_err "wheel: invalid version" 1 "invalid version '1.x'" -- \
	"$EM" debug wheel foobar-1.x-py3-none-any.whl -t win_amd64
t_expect_err "wheel: control bytes are escaped" 1 'pkg\\x1b' -- \
	"$EM" debug wheel "$(printf 'pkg\033-1.0-py3-none-any.whl')" -t win_amd64
t_expect_err "wheel: missing file name" 2 "a wheel file name is needed" -- "$EM" debug wheel
t_expect_err "wheel: two file names" 2 "only one file name" -- "$EM" debug wheel a.whl b.whl
t_expect_err "wheel: bad target" 2 "unknown platform 'linux-sparc'" -- \
	"$EM" debug wheel pkg-1.0-py3-none-any.whl --target linux-sparc
t_expect "wheel: nothing on stdout on error" 1 "" -- "$EM" debug wheel pkg.whl -t win32

t_done
