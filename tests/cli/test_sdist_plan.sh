#!/bin/sh
# test_sdist_plan.sh - planning with sdists (issue 13 items 1 and 4): a
# release with no usable wheel is planned from its sdist's static metadata
# (PEP 643 PKG-INFO, or the index's PEP 658 file), without any build; the
# lock records the sdist; dynamic metadata, no-build, only-binary,
# no-binary and hostile archives; the ASR workload's openai-whisper
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
S="$T_TMP/spec"
IDX="$T_TMP/idx"
FL="$T_TMP/fl"
mkdir -p "$S" "$FL"

# PKG-INFO files: static (2.2+, nothing needed is Dynamic), dynamic, old
pkginfo() { # FILE NAME VERSION METADATA-VERSION [EXTRA-LINES]
	{
		printf 'Metadata-Version: %s\nName: %s\nVersion: %s\n' "$4" "$2" "$3"
		[ -n "${5:-}" ] && printf '%s\n' "$5"
		printf '\n'
	} >"$1"
}
# openai-whisper 20250625: the dependencies of its real PKG-INFO
pkginfo "$S/whisper" openai-whisper 20250625 2.4 "Requires-Python: >=3.8
Dynamic: license-file
Requires-Dist: more-itertools
Requires-Dist: numba
Requires-Dist: numpy
Requires-Dist: tiktoken
Requires-Dist: torch
Requires-Dist: tqdm
Requires-Dist: triton>=2; (platform_machine == \"x86_64\" and sys_platform == \"linux\") or sys_platform == \"linux2\"
Provides-Extra: dev
Requires-Dist: pytest; extra == \"dev\""
pkginfo "$S/static" static-only 1.0 2.2 "Requires-Dist: tqdm>=4
Dynamic: Summary"
pkginfo "$S/dynamic" dyn-only 1.0 2.2 "Dynamic: Requires-Dist"
pkginfo "$S/old" side-only 1.0 2.1 "Requires-Dist: tqdm"
pkginfo "$S/both" both 1.0 2.2 "Requires-Dist: tqdm"

LINUX=cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64
cat >"$S/idx.spec" <<EOF
index pypi format=json
  package openai-whisper
    version 20250625
      metadata-file whisper
      sdist
  package static-only
    version 1.0
      metadata-file static
      sdist
  package dyn-only
    version 1.0
      metadata-file dynamic
      sdist
  package side-only
    version 1.0
      metadata-file old
      sdist sidecar=yes
  package both
    version 1.0
      metadata-file both
      sdist
      wheel py3-none-any
  package numba
    version 0.61.2
      requires numpy<2.3,>=1.24
      wheel $LINUX
  package numpy
    version 2.2.6
      wheel $LINUX
  package tiktoken
    version 0.9.0
      wheel $LINUX
  package tqdm
    version 4.67.1
      wheel py3-none-any
  package more-itertools
    version 10.7.0
      wheel py3-none-any
index torch/cu126 format=json requires-python=no
  package torch
    version 2.8.0+cu126
      requires triton==3.4.0; platform_system == "Linux" and platform_machine == "x86_64"
      wheel cp312-cp312-manylinux_2_28_x86_64
  package triton
    version 3.4.0
      wheel cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64
EOF
"$MKINDEX" "$S/idx.spec" "$IDX" >/dev/null || { t_fail "build the test index"; t_done; exit 1; }

# hostile sdists in a find-links folder (python's tarfile writes any name)
if command -v python3 >/dev/null 2>&1; then
	python3 - "$FL" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
info = b"Metadata-Version: 2.2\nName: %s\nVersion: 1.0\n\n"
for fn, pkg, member in (("evil_dots-1.0.tar.gz", b"evil-dots", "../PKG-INFO"),
                        ("evil_abs-1.0.tar.gz", b"evil-abs", "/tmp/evil/PKG-INFO")):
    with tarfile.open(out + "/" + fn, "w:gz", format=tarfile.USTAR_FORMAT) as t:
        data = info % pkg
        ti = tarfile.TarInfo(member)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
EOF
fi

cat >"$T_TMP/matrix.ini" <<EOF
[matrix]
platform = linux-x86_64
python = 3.12.10
index-url = $IDX/pypi
torch-index-url = $IDX/torch
find-links = $FL

[asr]
path = w/asr
torch = 2.8.0
cuda = 12.6
packages =
    openai-whisper==20250625

[static]
path = w/static
packages =
    static-only

[dynamic]
path = w/dynamic
packages =
    dyn-only

[sidecar]
path = w/sidecar
packages =
    side-only

[both]
path = w/both
packages =
    both

[nobuild]
path = w/nobuild
no-build = true
packages =
    static-only

[onlybinary]
path = w/onlybinary
only-binary = static-only
packages =
    static-only

[nobinary]
path = w/nobinary
no-binary = both
packages =
    both

[dots]
path = w/dots
packages =
    evil-dots

[abs]
path = w/abs
packages =
    evil-abs
EOF
M="$T_TMP/matrix.ini"
plan() { t_run sh -c "cd '$T_TMP' && '$EM' plan $*"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }

# ---- an sdist-only package with static PKG-INFO 2.2: planned, no build ----
plan static
L="$T_TMP/pylock.static.toml"
SD="$IDX/pypi/static-only/static_only-1.0.tar.gz"
if [ "$T_RC" = 0 ] && grep -q '^\[packages.sdist\]$' "$L" &&
	grep -A5 '^\[packages.sdist\]$' "$L" | grep -q "sha256 = \"$(sha "$SD")\"" &&
	grep -A5 '^\[packages.sdist\]$' "$L" | grep -q "^size = $(size "$SD")$"; then
	t_pass "static PKG-INFO 2.2: planned from the sdist, lock has its sdist table (sha256, size)"
else
	t_fail "static sdist planned" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$L" 2>/dev/null)"
fi
"$EM" debug lock "$L" 2>/dev/null | grep -q "^package	tqdm	4.67.1	" &&
	t_pass "the sdist's Requires-Dist is resolved (tqdm)" || t_fail "tqdm resolved" "$(cat "$L")"
"$EM" debug lock "$L" >/dev/null 2>&1 && t_pass "the lock reads back (PEP 751)" ||
	t_fail "the lock reads back" "$("$EM" debug lock "$L" 2>&1)"
[ ! -e "$T_TMP/w/static" ] && t_pass "nothing was built or unpacked in the project" ||
	t_fail "project folder untouched"

# ---- a second plan reads neither the archive nor the index's file again ----
mv "$SD" "$T_TMP/moved.tar.gz"
plan static
[ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q 'unchanged$' &&
	t_pass "re-plan: PKG-INFO kept by the sdist's sha256 (the sdist file is gone)" ||
	t_fail "re-plan from the cache" "exit $T_RC" "$T_OUT" "$T_ERR"
mv "$T_TMP/moved.tar.gz" "$SD"

# ---- dynamic metadata: prepared through a build (test_sdist_apply.sh
# has one that works); this sdist has no pyproject.toml, so its build
# needs setuptools, which the index lacks: a clear error ----
plan dynamic
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" |
	grep -q "dyn_only-1.0: cannot resolve the build requirements: .*setuptools"; then
	t_pass "Dynamic: Requires-Dist: the plan prepares it with a build, which names what is missing"
else
	t_fail "dynamic metadata error" "exit $T_RC" "$T_ERR"
fi

# ---- PEP 658 metadata served for the sdist: no sdist download ----
rm -f "$IDX/pypi/side-only/side_only-1.0.tar.gz"
plan sidecar
[ "$T_RC" = 0 ] && "$EM" debug lock "$T_TMP/pylock.sidecar.toml" | grep -q "^package	tqdm	" &&
	grep -q '^\[packages.sdist\]$' "$T_TMP/pylock.sidecar.toml" &&
	t_pass "PEP 658 file for the sdist used (the sdist itself is not there)" ||
	t_fail "sdist sidecar" "exit $T_RC" "$T_OUT" "$T_ERR"

# ---- a release with wheels locks its wheel ----
plan both
L="$T_TMP/pylock.both.toml"
[ "$T_RC" = 0 ] && grep -q '^\[\[packages.wheels\]\]$' "$L" && grep -q 'both-1.0-py3-none-any.whl' "$L" &&
	! grep -q '^\[packages.sdist\]$' "$L" &&
	t_pass "wheel and sdist: the wheel is locked" || t_fail "wheels preferred" "$T_ERR" "$(cat "$L")"

# ---- no-build, only-binary, no-binary ----
line_of() { grep -n "^$1" "$M" | head -1 | cut -d: -f1; }
plan nobuild
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q "static-only" &&
	printf '%s\n' "$T_ERR" | grep -qF "which no-build (matrix.ini:$(line_of 'no-build = true')) refuses"; then
	t_pass "no-build = true refuses the sdist, naming the package and the key's line"
else
	t_fail "no-build refuses" "exit $T_RC" "$T_ERR"
fi
plan onlybinary
if [ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q "static-only" &&
	printf '%s\n' "$T_ERR" | grep -qF "which only-binary (matrix.ini:$(line_of 'only-binary = static-only')) refuses"; then
	t_pass "only-binary = PKG refuses its sdist, naming the key's line"
else
	t_fail "only-binary refuses" "exit $T_RC" "$T_ERR"
fi
plan nobinary
L="$T_TMP/pylock.nobinary.toml"
[ "$T_RC" = 0 ] && grep -q '^\[packages.sdist\]$' "$L" && ! grep -q 'both-1.0-py3-none-any.whl' "$L" &&
	t_pass "no-binary = PKG: the sdist is planned although a wheel exists" ||
	t_fail "no-binary" "exit $T_RC" "$T_ERR" "$(cat "$L" 2>/dev/null)"

# ---- hostile archives ----
if command -v python3 >/dev/null 2>&1; then
	plan dots
	[ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q "unsafe member name '../PKG-INFO'" &&
		t_pass "an sdist with '../PKG-INFO' is refused" || t_fail "dots refused" "exit $T_RC" "$T_ERR"
	plan abs
	[ "$T_RC" != 0 ] && printf '%s\n' "$T_ERR" | grep -q "unsafe member name '/tmp/evil/PKG-INFO'" &&
		t_pass "an sdist with an absolute member name is refused" || t_fail "abs refused" "exit $T_RC" "$T_ERR"
	[ ! -e /tmp/evil/PKG-INFO ] && t_pass "nothing written outside" || t_fail "nothing written outside"
else
	t_skip "hostile sdists" "python3 is missing (it writes the tar members)"
fi

# ---- the ASR workload: openai-whisper 20250625, sdist only, beside torch ----
plan asr
L="$T_TMP/pylock.asr.toml"
lk() { "$EM" debug lock "$L" 2>/dev/null | grep -q "^package	$1	$2	"; }
if [ "$T_RC" = 0 ] && lk openai-whisper 20250625 && lk torch 2.8.0+cu126 && lk triton 3.4.0 &&
	lk numba 0.61.2 && lk numpy 2.2.6 && lk tiktoken 0.9.0 && lk tqdm 4.67.1 &&
	lk more-itertools 10.7.0 && ! lk pytest ''; then
	t_pass "asr: openai-whisper==20250625 (sdist only) planned beside torch 2.8.0+cu126"
else
	t_fail "asr plan" "exit $T_RC" "$T_OUT" "$T_ERR" "$("$EM" debug lock "$L" 2>&1)"
fi
grep -q 'openai_whisper-20250625.tar.gz' "$L" && t_pass "asr lock records whisper's sdist" ||
	t_fail "whisper sdist in lock"

t_done
