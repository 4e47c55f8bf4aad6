#!/bin/sh
# tests/cli/test_debug_marker.sh - `envmatrix debug marker` and `debug requirement`
. "$(dirname "$0")/lib.sh"

# ---- debug marker ----
t_expect "marker: true on linux" 0 true -- \
	"$EM" debug marker 'sys_platform == "linux" and python_version >= "3.8"' --target linux-x86_64
t_expect "marker: false on windows" 0 false -- \
	"$EM" debug marker 'sys_platform == "linux"' --target windows-x86_64
t_expect "marker: windows variables" 0 true -- "$EM" debug marker \
	'os_name == "nt" and platform_system == "Windows" and platform_machine == "AMD64"' -t win_amd64
t_expect "marker: macOS arm64" 0 true -- "$EM" debug marker \
	'sys_platform == "darwin" and platform_machine == "arm64"' --target macos-arm64
t_expect "marker: --python sets python_version" 0 true -- \
	"$EM" debug marker 'python_version < "3.12"' --target linux-x86_64 --python 3.11
t_expect "marker: 3.12 by default" 0 true -- \
	"$EM" debug marker 'python_version == "3.12" and python_full_version == "3.12.0"' -t linux-x86_64
t_expect "marker: --python X.Y.Z" 0 true -- \
	"$EM" debug marker 'python_full_version >= "3.12.10"' -t linux-x86_64 -p 3.12.10
t_expect "marker: pre-release python matches" 0 true -- \
	"$EM" debug marker 'python_full_version >= "3.13"' -t linux-x86_64 -p 3.14.0rc1
t_expect "marker: string comparison" 0 false -- \
	"$EM" debug marker 'platform_machine < "z"' -t linux-x86_64
t_expect "marker: no extra by default" 0 false -- \
	"$EM" debug marker 'extra == "gpu"' -t linux-x86_64
t_expect "marker: --extra, PEP 685 normalized" 0 true -- \
	"$EM" debug marker 'extra == "Cuda_12"' -t linux-x86_64 --extra cuda.12
t_expect "marker: --env overrides" 0 true -- \
	"$EM" debug marker 'platform_release >= "6"' -t windows-x86_64 --env platform_release=10
t_expect "marker: --env extras is a list" 0 true -- \
	"$EM" debug marker '"gpu" in extras and "cpu" not in extras' -t linux-x86_64 --env extras=GPU,all
t_expect "marker: --env other names" 0 true -- \
	"$EM" debug marker '"x" == "custom"' -t linux-x86_64 --env custom=x
t_expect "marker: the host by default" 0 true -- \
	"$EM" debug marker "platform_machine == \"$(uname -m)\" and platform_release == \"$(uname -r)\""

t_expect_err "marker: invalid marker names it" 1 \
	"expected a marker variable or quoted string after 'and' at position 17 in 'os_name == \"nt\" and'" -- \
	"$EM" debug marker 'os_name == "nt" and' -t linux-x86_64
t_expect_err "marker: unbalanced parenthesis" 1 "expected ')' to close the '(' at position 1" -- \
	"$EM" debug marker '(os_name == "nt"' -t linux-x86_64
t_expect_err "marker: undefined variable" 1 \
	"marker 'platform_release >= \"5\"': undefined marker variable 'platform_release'" -- \
	"$EM" debug marker 'platform_release >= "5"' -t windows-x86_64
t_expect_err "marker: undefined extras" 1 "undefined marker variable 'extras'" -- \
	"$EM" debug marker '"a" in extras' -t linux-x86_64
t_expect_err "marker: ~= on a string" 1 "undefined comparison 'posix' ~= 'nt'" -- \
	"$EM" debug marker 'os_name ~= "nt"' -t linux-x86_64
t_expect "marker: nothing on stdout after an error" 1 "" -- \
	"$EM" debug marker 'os_name ~= "nt"' -t linux-x86_64
t_expect_err "marker: missing argument" 2 "missing MARKER" -- "$EM" debug marker
t_expect_err "marker: two arguments" 2 "expected one MARKER, got 2" -- \
	"$EM" debug marker 'os_name' '== "nt"'
t_expect_err "marker: unknown option" 2 "unknown option '--nope'" -- \
	"$EM" debug marker 'os_name == "nt"' --nope
t_expect_err "marker: bad --env" 2 "--env takes KEY=VALUE" -- \
	"$EM" debug marker 'os_name == "nt"' --env os_name
t_expect_err "marker: bad --target" 2 "unknown platform 'solaris'" -- \
	"$EM" debug marker 'os_name == "nt"' --target solaris
t_expect_err "marker: bad --python" 2 "invalid Python version 'three'" -- \
	"$EM" debug marker 'os_name == "nt"' --python three
t_expect "marker: --help" 0 "usage: envmatrix debug marker [-t PLATFORM] [-p X.Y[.Z]] [-e NAME] [--env KEY=VALUE]... MARKER" -- \
	sh -c '"$1" debug marker --help | head -n 1' sh "$EM"

# ---- debug requirement ----
t_expect "requirement: all parts" 0 "$(printf 'name\tTorch_Vision\ncanonical\ttorch-vision\nextras\tCPU,cuda\nspecifier\t<3,>=2.8.0\nmarker\tsys_platform == "linux" and extra == "gpu"\nurl\t\napplies\ttrue')" -- \
	"$EM" debug requirement 'Torch_Vision [cuda, CPU] (>= 2.8.0, <3) ; sys_platform == "linux" and extra == "GPU"' \
	-t linux-x86_64 --extra gpu
t_expect "requirement: does not apply without the extra" 0 "applies	false" -- \
	sh -c '"$1" debug requirement "x; extra == \"gpu\"" -t linux-x86_64 | tail -n 1' sh "$EM"
t_expect "requirement: a direct URL" 0 "$(printf 'name\tpip\ncanonical\tpip\nextras\t\nspecifier\t\nmarker\tos_name == "nt"\nurl\tfile:///wheels/pip-24.2-py3-none-any.whl\napplies\tfalse')" -- \
	"$EM" debug requirement 'pip @ file:///wheels/pip-24.2-py3-none-any.whl ; os_name == "nt"' -t linux-x86_64
t_expect "requirement: torch local version pin" 0 "specifier	==2.8.0+cu126" -- \
	sh -c '"$1" debug requirement "torch==2.8.0+cu126" -t linux-x86_64 | grep ^specifier' sh "$EM"
t_expect "requirement: special characters are escaped" 0 'marker	os_name == "a\tb\\c"' -- \
	sh -c '"$1" debug requirement "x; os_name == \"a\\tb\\\\c\"" -t linux-x86_64 | grep ^marker' sh "$EM"
t_expect_err "requirement: invalid names it" 1 "expected ';' (after the URL and whitespace) or the end" -- \
	"$EM" debug requirement 'name @ https://example.com/ extra' -t linux-x86_64
t_expect_err "requirement: bad specifier" 1 "local version label can only be used with '==' or '!=' at position 4 in 'pkg>=1.0+local'" -- \
	"$EM" debug requirement 'pkg>=1.0+local' -t linux-x86_64
t_expect "requirement: nothing on stdout after an error" 1 "" -- \
	"$EM" debug requirement 'x; platform_release > "1"' -t windows-x86_64
t_expect_err "requirement: undefined variable" 1 "requirement 'x; platform_release > \"1\"': undefined marker variable 'platform_release'" -- \
	"$EM" debug requirement 'x; platform_release > "1"' -t windows-x86_64
t_expect_err "requirement: missing argument" 2 "missing REQUIREMENT" -- "$EM" debug requirement

t_done
