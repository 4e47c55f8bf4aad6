#!/bin/sh
# test_whisper.sh - the ASR workload of matrices/rtx3090-linux.ini applies
# with openai-whisper as an sdist (issue 13, "What must show"): PyPI has
# openai-whisper==20250625 only as an sdist. The shipped [asr] section
# (copied, its index URLs and Python replaced by sed with this machine's)
# is applied against a PyPI-shaped local index: a stand-in
# openai_whisper-20250625.tar.gz whose pyproject.toml builds with the real
# setuptools (pyenv's ensurepip setuptools and Debian's wheel, served by
# the index, so the build environment resolves offline) and whose PKG-INFO
# has whisper's real Requires-Dist lines, tiny stand-in wheels for those
# (numba, numpy, tiktoken, tqdm, more-itertools, and triton beside a
# torch 2.8.0+cu126-shaped wheel in a PyTorch-shaped variant index).
# Checks: apply builds whisper from source with setuptools and installs
# it, whisper imports in the venv with torch 2.8.0+cu126 and its console
# script runs, the lock and status say it came from an sdist, apply
# --force does not build again.
# shellcheck disable=SC1091 # sourced at run time
. "$(dirname "$0")/lib.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
IDX="$T_TMP/idx"
M="$T_TMP/m"
mkdir -p "$M" "$T_TMP/src"

# a pyenv interpreter whose ensurepip bundles setuptools (3.12 and later
# bundle only pip), 3.11 first (the ASR workload's series)
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
PY='' ST=''
for v in 3.11 3.10 3.9 3.8; do
	for p in "$root"/versions/"$v".*/bin/python"$v"; do
		[ -x "$p" ] || continue
		s=$(find "$(dirname "$p")/../lib/python$v/ensurepip/_bundled" -name 'setuptools-*.whl' 2>/dev/null | head -n 1)
		[ -n "$s" ] && PY=$p ST=$s
	done
	[ -n "$PY" ] && break
done
WHEELWHL=$(find /usr/share/python-wheels -name 'wheel-*.whl' 2>/dev/null | head -n 1)
if [ -z "$PY" ]; then
	t_skip "the ASR workload with whisper built from its sdist" \
		"no pyenv CPython 3.8-3.11 with an ensurepip setuptools wheel in $root/versions (pyenv install 3.11)"
	t_done
	exit $?
fi
if [ -z "$WHEELWHL" ]; then
	t_skip "the ASR workload with whisper built from its sdist" \
		"no /usr/share/python-wheels/wheel-*.whl (apt-get install python3-wheel-whl)"
	t_done
	exit $?
fi
PYVER=$("$PY" -c 'import platform; print(platform.python_version())')
CP=cp$("$PY" -c 'import sys; print("%d%d" % sys.version_info[:2])')

# ---- the indexes: PyPI-shaped, and PyTorch-shaped for cu126 ----
# whisper's PKG-INFO: the Requires-Dist lines of the real 20250625 sdist
cat >"$T_TMP/src/PKG-INFO" <<'EOF'
Metadata-Version: 2.4
Name: openai-whisper
Version: 20250625
Summary: Robust Speech Recognition via Large-Scale Weak Supervision (a test stand-in)
Requires-Python: >=3.8
Description-Content-Type: text/markdown
License-File: LICENSE
Requires-Dist: more-itertools
Requires-Dist: numba
Requires-Dist: numpy
Requires-Dist: tiktoken
Requires-Dist: torch
Requires-Dist: tqdm
Requires-Dist: triton>=2; (platform_machine == "x86_64" and sys_platform == "linux") or sys_platform == "linux2"
Provides-Extra: dev
Requires-Dist: black; extra == "dev"
Requires-Dist: flake8; extra == "dev"
Requires-Dist: isort; extra == "dev"
Requires-Dist: pytest; extra == "dev"
Requires-Dist: scipy; extra == "dev"
Dynamic: license-file

EOF
LINUX=$CP-$CP-manylinux_2_17_x86_64.manylinux2014_x86_64
cat >"$T_TMP/idx.spec" <<EOF
define stand-in
  field Summary: a test stand-in, not the real project
index pypi format=both
  package numba
    version 0.61.2
      use stand-in
      requires numpy<2.3,>=1.24
      wheel $LINUX
  package numpy
    version 2.2.6
      use stand-in
      wheel $LINUX
  package tiktoken
    version 0.9.0
      use stand-in
      wheel $LINUX
  package tqdm
    version 4.67.1
      use stand-in
      wheel py3-none-any
  package more-itertools
    version 10.7.0
      use stand-in
      wheel py3-none-any
  package filelock
    version 3.18.0
      use stand-in
      wheel py3-none-any
  package typing-extensions
    version 4.14.0
      use stand-in
      wheel py3-none-any
  package nvidia-cuda-runtime-cu12
    version 12.6.77
      use stand-in
      wheel py3-none-manylinux2014_x86_64
index torch/cu126 format=html requires-python=no
  package torch
    version 2.8.0+cu126
      use stand-in
      requires filelock
      requires typing-extensions>=4.10.0
      requires nvidia-cuda-runtime-cu12==12.6.77; platform_system == "Linux" and platform_machine == "x86_64"
      requires triton==3.4.0; platform_system == "Linux" and platform_machine == "x86_64"
      wheel $CP-$CP-manylinux_2_28_x86_64
  package triton
    version 3.4.0
      use stand-in
      wheel $CP-$CP-manylinux_2_27_x86_64.manylinux_2_28_x86_64
EOF
"$MKINDEX" "$T_TMP/idx.spec" "$IDX" >/dev/null || { t_fail "build the test index"; t_done; exit 1; }

# openai_whisper-20250625.tar.gz: built by the real setuptools from its
# pyproject.toml (as the real sdist is; the version comes from a file)
W="$T_TMP/src/openai_whisper-20250625"
mkdir -p "$W/whisper"
cp "$T_TMP/src/PKG-INFO" "$W/PKG-INFO"
cat >"$W/pyproject.toml" <<'EOF'
[build-system]
build-backend = "setuptools.build_meta"
requires = ["setuptools>=61.2"]

[project]
name = "openai-whisper"
description = "Robust Speech Recognition via Large-Scale Weak Supervision (a test stand-in)"
readme = "README.md"
license = { text = "MIT" }
requires-python = ">=3.8"
dynamic = ["version"]
dependencies = [
    "more-itertools",
    "numba",
    "numpy",
    "tiktoken",
    "torch",
    "tqdm",
    "triton>=2; (platform_machine == 'x86_64' and sys_platform == 'linux') or sys_platform == 'linux2'",
]

[project.optional-dependencies]
dev = ["black", "flake8", "isort", "pytest", "scipy"]

[project.scripts]
whisper = "whisper.transcribe:cli"

[tool.setuptools]
packages = ["whisper"]

[tool.setuptools.dynamic]
version = { attr = "whisper.version.__version__" }
EOF
printf 'A stand-in for openai-whisper, for envmatrix tests.\n' >"$W/README.md"
printf 'MIT License (a test stand-in)\n' >"$W/LICENSE"
printf '__version__ = "20250625"\n' >"$W/whisper/version.py"
cat >"$W/whisper/__init__.py" <<'EOF'
import more_itertools, numba, numpy, tiktoken, torch, tqdm

from .version import __version__


def available_models():
    return ["tiny", "base", "small", "medium", "large", "turbo"]
EOF
cat >"$W/whisper/transcribe.py" <<'EOF'
import torch

import whisper


def cli():
    print("whisper", whisper.__version__, "on torch", torch.__version__)
EOF
mkdir -p "$IDX/pypi/openai-whisper"
(cd "$T_TMP/src" && tar czf "$IDX/pypi/openai-whisper/openai_whisper-20250625.tar.gz" openai_whisper-20250625)

# pages for whisper (only the sdist, as on PyPI) and for the real
# setuptools and wheel the build environment needs (PEP 503)
page() { # PROJECT FILE...
	d="$IDX/pypi/$1"
	shift
	mkdir -p "$d"
	{
		echo '<!DOCTYPE html><html><body>'
		for f in "$@"; do
			b=$(basename "$f")
			[ -f "$d/$b" ] || cp "$f" "$d/"
			echo "<a href=\"$b#sha256=$(sha256sum "$d/$b" | cut -d' ' -f1)\" data-requires-python=\"&gt;=3.7\">$b</a><br>"
		done
		echo '</body></html>'
	} >"$d/index.html"
}
page openai-whisper "$IDX/pypi/openai-whisper/openai_whisper-20250625.tar.gz"
page setuptools "$ST"
page wheel "$WHEELWHL"

# ---- the shipped matrix's [asr], with this machine's indexes and Python ----
sed -e "s|^index-url = .*|index-url = $IDX/pypi|" \
	-e "s|^torch-index-url = .*|torch-index-url = $IDX/torch|" \
	-e '/^\[asr\]$/,/^\[/s/^python = .*/python = '"$PYVER"'/' \
	"$top/matrices/rtx3090-linux.ini" >"$M/rtx3090-linux.ini"
if grep -q "^index-url = $IDX/pypi\$" "$M/rtx3090-linux.ini" &&
	sed -n '/^\[asr\]$/,/^\[/p' "$M/rtx3090-linux.ini" | grep -q "^python = $PYVER\$" &&
	sed -n '/^\[asr\]$/,/^\[/p' "$M/rtx3090-linux.ini" | grep -q '^packages = openai-whisper==20250625$'; then
	t_pass "the shipped [asr] (openai-whisper==20250625) pointed at the local indexes and Python $PYVER"
else
	t_fail "the matrix copy" "$(cat "$M/rtx3090-linux.ini")"
fi

VENV="$M/llmytranslate/.venv-asr-311"
L="$M/pylock.asr.toml"
t_run "$EM" apply -f "$M/rtx3090-linux.ini" asr
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q "^asr  *built  *$PYVER  *2\.8\.0+cu126 " &&
	grep -q 'openai_whisper-20250625.tar.gz' "$L"; then
	t_pass "apply builds the ASR workload: whisper from its sdist beside torch 2.8.0+cu126"
else
	t_fail "apply asr" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$L" 2>/dev/null)"
fi
t_run "$VENV/bin/python" -c 'import whisper, torch, numba, tiktoken; print(whisper.__version__, whisper.available_models()[0], torch.__version__)'
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "20250625 tiny 2.8.0+cu126" ]; then
	t_pass "whisper imports in the venv, with its dependencies and torch 2.8.0+cu126"
else
	t_fail "import whisper" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
t_run "$VENV/bin/whisper"
di=$(find "$VENV"/lib/python*/site-packages -maxdepth 1 -name 'openai_whisper-20250625.dist-info' | head -n 1)
if [ "$T_RC" = 0 ] && [ "$T_OUT" = "whisper 20250625 on torch 2.8.0+cu126" ] && [ -n "$di" ] &&
	grep -q '^Generator: bdist_wheel' "$di/WHEEL" && grep -q '^Requires-Dist: tiktoken' "$di/METADATA" &&
	grep -q '^Requires-Dist: triton' "$di/METADATA"; then
	t_pass "the wheel was built by the real setuptools (bdist_wheel), its console script and Requires-Dist installed"
else
	t_fail "whisper built by setuptools" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$di/WHEEL" 2>&1)"
fi
t_run "$EM" debug lock "$L"
if printf '%s\n' "$T_OUT" | grep -q '^package	triton	3\.4\.0	triton-3\.4\.0-' &&
	printf '%s\n' "$T_OUT" | grep -q '^package	nvidia-cuda-runtime-cu12	12\.6\.77	' &&
	printf '%s\n' "$T_OUT" | grep -q '^package	numba	0\.61\.2	'; then
	t_pass "whisper's and torch's requirements are locked (triton from the variant index, nvidia-* from PyPI)"
else
	t_fail "asr lock" "$T_OUT" "$T_ERR"
fi
t_run "$EM" status -f "$M/rtx3090-linux.ini"
if printf '%s\n' "$T_OUT" | grep -qx 'asr: 1 package built from source: openai-whisper'; then
	t_pass "status says whisper was built from source"
else
	t_fail "status" "exit $T_RC" "$T_OUT" "$T_ERR"
fi

# ---- again: the built wheel comes from the cache ----
sleep 1
touch "$T_TMP/stamp"
t_run "$EM" apply --force -f "$M/rtx3090-linux.ini" asr
new=$(find "$ENVMATRIX_CACHE_DIR/built" -newer "$T_TMP/stamp" 2>/dev/null)
if [ "$T_RC" = 0 ] && [ -z "$new" ] && "$VENV/bin/python" -c 'import whisper' 2>/dev/null; then
	t_pass "apply --force installs whisper's built wheel from the cache without building it again"
else
	t_fail "apply --force rebuilt" "exit $T_RC" "$T_ERR" "new: $new"
fi

t_done
