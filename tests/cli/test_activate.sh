#!/bin/sh
# test_activate.sh - the activation scripts of the venvs envmatrix writes
#
# Venvs are written by tests/tools/mkvenv (em_venv_create) into a staging
# folder and moved to their final place. activate is sourced in bash, dash
# and zsh (fish gets activate.fish): the values while active are checked
# byte for byte (workload variables with quotes, $, backticks, backslashes,
# %, ^, newlines, tabs, spaces at the ends, non-ASCII and non-UTF-8 bytes),
# and `env` after deactivate must equal `env` before. shellcheck checks
# activate; tree-sitter-powershell (from npm, in $EM_NPM_PREFIX, default
# build/npm) parses Activate.ps1; the .bat files are checked by reading
# them. Whatever is not installed is a counted skip (t_skip) saying why.
. "$(dirname "$0")/lib.sh"

MKVENV=${MKVENV:-$(dirname "$EM")/tools/mkvenv}
top=$(cd "$(dirname "$0")/../.." && pwd)
NPM_PREFIX=${EM_NPM_PREFIX:-$top/build/npm}

# same_file WHAT EXPECTED ACTUAL: byte for byte
same_file() {
	if cmp -s "$2" "$3"; then
		t_pass "$1"
	else
		t_fail "$1" "expected: $(od -c "$2" 2>&1 | head -n 4)" "actual:   $(od -c "$3" 2>&1 | head -n 4)"
	fi
}

# ---- a base interpreter: the machine's python3 (not a pyenv shim), or a fake ----
base=""
for p in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 2>/dev/null)"; do
	case "$p" in "" | */shims/*) continue ;; esac
	if [ -x "$p" ] && "$p" -c 'import sys' >/dev/null 2>&1; then
		base=$p
		break
	fi
done
if [ -n "$base" ]; then
	base_args="--interp $base"
else
	t_skip "activate with a real base interpreter" "no python3 outside pyenv shims, the venvs get a fake one (apt-get install python3)"
	mkdir -p "$T_TMP/fakepy/bin"
	printf '#!/bin/sh\nexit 0\n' >"$T_TMP/fakepy/bin/python3.12"
	chmod 755 "$T_TMP/fakepy/bin/python3.12"
	base_args="--python 3.12.4 --home $T_TMP/fakepy"
fi

# ---- the values ----
nasty=$(printf 'sq\047 dq" dollar$HOME bt`echo pwned` sub$(touch %s/pwned) bs\\ bs2\\\\ pct%%PATH%% caret^ amp& pipe| lt< gt> semi; bang! star* brace{x} tilde~ hash#\nline2\ttab \303\251 \346\227\245\346\234\254 end' "$T_TMP")
spaced='  two spaces at each end  '
raw=$(printf 'bin\377\376ary')
printf '%s' "$nasty" >"$T_TMP/exp_nasty"
printf '%s' "$spaced" >"$T_TMP/exp_spaced"
printf '%s' "$raw" >"$T_TMP/exp_raw"
printf '%s' "7" >"$T_TMP/exp_cuda"
old_cuda=$(printf 'old \047value\047 with $x and\nnewline')
printf '%s' "$old_cuda" >"$T_TMP/exp_old_cuda"

A="$T_TMP/final/a/.venv"
B="$T_TMP/final/b/.venv"
mkdir -p "$T_TMP/stage" "$T_TMP/final/a" "$T_TMP/final/b"
# shellcheck disable=SC2086
t_expect "mkvenv writes venv a" 0 "" -- "$MKVENV" $base_args --workload vlm \
	--matrix "$T_TMP/matrix.ini" --env "NASTY=$nasty" --env "SPACED=$spaced" \
	--env "RAW=$raw" --env "EMPTY=" --env "CUDA_VISIBLE_DEVICES=7" "$T_TMP/stage/a" "$A"
[ -z "$T_ERR" ] || t_fail "mkvenv a: stderr" "$T_ERR"
# shellcheck disable=SC2086
t_expect "mkvenv writes venv b" 0 "" -- "$MKVENV" $base_args --workload asr \
	--env "ONLY_B=b" "$T_TMP/stage/b" "$B"
if ! mv "$T_TMP/stage/a" "$A" || ! mv "$T_TMP/stage/b" "$B"; then
	t_fail "move the venvs into place"
fi

# ---- the files ----
if grep -rl "$T_TMP/stage" "$A" "$B" >/dev/null 2>&1; then
	t_fail "no file names the staging folder" "$(grep -rl "$T_TMP/stage" "$A" "$B")"
else
	t_pass "no file names the staging folder"
fi
if grep -q "^VIRTUAL_ENV='$A'\$" "$A/bin/activate" &&
	grep -q "^set -g -x VIRTUAL_ENV '$A'\$" "$A/bin/activate.fish"; then
	t_pass "activate and activate.fish name the final root"
else
	t_fail "activate and activate.fish name the final root" "$(grep -n VIRTUAL_ENV= "$A/bin/activate")"
fi
if cmp -s "$A/bin/Activate.ps1" "$B/bin/Activate.ps1"; then
	t_pass "Activate.ps1 is the same in every venv"
else
	t_fail "Activate.ps1 is the same in every venv"
fi
modes=$(stat -c '%a' "$A/bin/activate" "$A/bin/activate.fish" "$A/bin/Activate.ps1" | tr '\n' ' ')
if [ "$modes" = "644 644 644 " ]; then t_pass "scripts are 0644"; else t_fail "scripts are 0644" "$modes"; fi

# ---- the sh family ----
# The driver runs in the shell under test with set -eu; it leaves one file
# per observation in $out.
cat >"$T_TMP/driver.sh" <<'EOF'
out=$1 A=$2 B=$3
snap() {
	env -0 | grep -z -v -E '^(_|SHLVL|PWD|OLDPWD)=' | sort -z >"$out/$1"
}
save() {
	printf '%s' "$2" >"$out/$1"
}
PS1='base> '
snap before
. "$A/bin/activate"
snap during
save VIRTUAL_ENV "$VIRTUAL_ENV"
save VIRTUAL_ENV_PROMPT "$VIRTUAL_ENV_PROMPT"
save PATH_HEAD "${PATH%%:*}"
save PATH_REST "${PATH#*:}"
save PYTHONHOME "${PYTHONHOME-unset}"
save PS1 "$PS1"
save NASTY "$NASTY"
save SPACED "$SPACED"
save RAW "$RAW"
save EMPTY "${EMPTY-unset}"
save CUDA "$CUDA_VISIBLE_DEVICES"
save which "$(command -v python || :)"
if [ -n "${CHECK_PYTHON-}" ]; then
	save prefix "$(python -c 'import sys; print(sys.prefix)' 2>&1 || :)"
fi
deactivate
snap after
if type deactivate >/dev/null 2>&1; then save left yes; else save left no; fi
save PS1_after "${PS1-unset}"
save CUDA_after "$CUDA_VISIBLE_DEVICES"

. "$A/bin/activate"
deactivate nondestructive
snap nondestructive
if type deactivate >/dev/null 2>&1; then save kept yes; else save kept no; fi
deactivate
snap noop

. "$A/bin/activate"
. "$A/bin/activate"
deactivate
snap twice

. "$A/bin/activate"
. "$B/bin/activate"
save ab_venv "$VIRTUAL_ENV"
save ab_nasty "${NASTY-unset}"
save ab_path "$PATH"
deactivate
snap ab

VIRTUAL_ENV_DISABLE_PROMPT=1
. "$A/bin/activate"
save PS1_disabled "$PS1"
deactivate
unset VIRTUAL_ENV_DISABLE_PROMPT
save done done
EOF

# what the shells must show
printf '%s' "$A" >"$T_TMP/exp_venv"
printf '%s' "$A/bin" >"$T_TMP/exp_head"
printf '%s' "/usr/bin:/bin" >"$T_TMP/exp_rest"
printf 'vlm' >"$T_TMP/exp_prompt"
printf '(vlm) base> ' >"$T_TMP/exp_ps1"
printf 'base> ' >"$T_TMP/exp_base_ps1"
printf 'unset' >"$T_TMP/exp_unset"
: >"$T_TMP/exp_empty"
printf '%s' "$A/bin/python" >"$T_TMP/exp_which"
printf '%s' "$A" >"$T_TMP/exp_prefix"
printf 'no' >"$T_TMP/exp_no"
printf 'yes' >"$T_TMP/exp_yes"
printf '%s' "$B" >"$T_TMP/exp_bvenv"
printf '%s' "$B/bin:/usr/bin:/bin" >"$T_TMP/exp_abpath"

check_shell() {
	sh_name=$1
	shift
	out="$T_TMP/out-$sh_name"
	rm -rf "$out" && mkdir -p "$out"
	rm -f "$T_TMP/pwned"
	check_python=""
	[ -n "$base" ] && check_python=1
	env -i PATH="/usr/bin:/bin" HOME="$T_TMP" LC_ALL=C CUDA_VISIBLE_DEVICES="$old_cuda" \
		PYTHONHOME=/nonexistent/pythonhome VIRTUAL_ENV=/some/inherited/venv \
		CHECK_PYTHON="$check_python" \
		"$@" -c 'set -eu; d=$1; shift; . "$d"' driver "$T_TMP/driver.sh" "$out" "$A" "$B" \
		>"$out/stdout" 2>"$out/stderr"
	rc=$?
	if [ "$rc" -eq 0 ] && [ -f "$out/done" ] && [ ! -s "$out/stderr" ]; then
		t_pass "$sh_name: activate and deactivate run under set -eu, quietly"
	else
		t_fail "$sh_name: activate and deactivate run under set -eu, quietly" "exit $rc" \
			"$(cat "$out/stderr")"
		return
	fi
	same_file "$sh_name: VIRTUAL_ENV is the final root" "$T_TMP/exp_venv" "$out/VIRTUAL_ENV"
	same_file "$sh_name: PATH starts with the venv's bin" "$T_TMP/exp_head" "$out/PATH_HEAD"
	same_file "$sh_name: then the old PATH" "$T_TMP/exp_rest" "$out/PATH_REST"
	same_file "$sh_name: VIRTUAL_ENV_PROMPT" "$T_TMP/exp_prompt" "$out/VIRTUAL_ENV_PROMPT"
	same_file "$sh_name: PS1 gets the prefix" "$T_TMP/exp_ps1" "$out/PS1"
	same_file "$sh_name: PYTHONHOME is unset" "$T_TMP/exp_unset" "$out/PYTHONHOME"
	same_file "$sh_name: nasty value" "$T_TMP/exp_nasty" "$out/NASTY"
	same_file "$sh_name: spaces at the ends" "$T_TMP/exp_spaced" "$out/SPACED"
	same_file "$sh_name: bytes that are not UTF-8" "$T_TMP/exp_raw" "$out/RAW"
	same_file "$sh_name: empty value is set" "$T_TMP/exp_empty" "$out/EMPTY"
	same_file "$sh_name: a variable that was set gets the new value" "$T_TMP/exp_cuda" "$out/CUDA"
	if [ -e "$T_TMP/pwned" ]; then
		t_fail "$sh_name: no value is run as a command"
	else
		t_pass "$sh_name: no value is run as a command"
	fi
	same_file "$sh_name: python is the venv's" "$T_TMP/exp_which" "$out/which"
	if [ -n "$check_python" ]; then
		same_file "$sh_name: the venv's python has sys.prefix = the venv" "$T_TMP/exp_prefix" \
			"$out/prefix"
	fi
	same_file "$sh_name: env after deactivate equals env before" "$out/before" "$out/after"
	same_file "$sh_name: deactivate removes itself" "$T_TMP/exp_no" "$out/left"
	same_file "$sh_name: PS1 is restored" "$T_TMP/exp_base_ps1" "$out/PS1_after"
	same_file "$sh_name: the old value is restored" "$T_TMP/exp_old_cuda" "$out/CUDA_after"
	same_file "$sh_name: deactivate nondestructive restores env" "$out/before" "$out/nondestructive"
	same_file "$sh_name: ... and keeps the function" "$T_TMP/exp_yes" "$out/kept"
	same_file "$sh_name: deactivate when nothing is active changes nothing" "$out/before" \
		"$out/noop"
	same_file "$sh_name: activating twice, deactivating once" "$out/before" "$out/twice"
	same_file "$sh_name: activating b over a: b is active" "$T_TMP/exp_bvenv" "$out/ab_venv"
	same_file "$sh_name: ... without a's variables" "$T_TMP/exp_unset" "$out/ab_nasty"
	same_file "$sh_name: ... nor a's PATH entry" "$T_TMP/exp_abpath" "$out/ab_path"
	same_file "$sh_name: ... and deactivate restores env" "$out/before" "$out/ab"
	same_file "$sh_name: VIRTUAL_ENV_DISABLE_PROMPT keeps PS1" "$T_TMP/exp_base_ps1" \
		"$out/PS1_disabled"
}

for sh in bash dash; do
	if command -v "$sh" >/dev/null 2>&1; then
		check_shell "$sh" "$sh"
	else
		t_skip "activate in $sh" "$sh is not installed (apt-get install $sh)"
	fi
done
if command -v zsh >/dev/null 2>&1; then
	check_shell zsh zsh -f
else
	t_skip "activate in zsh" "zsh is not installed (apt-get install zsh)"
fi

# ---- fish ----
cat >"$T_TMP/driver.fish" <<'EOF'
set out $argv[1]
set A $argv[2]
set B $argv[3]
function snap
    env -0 | grep -z -v -E '^(_|SHLVL|PWD|OLDPWD)=' | sort -z >$out/$argv[1]
end
function save
    printf '%s' $argv[2] >$out/$argv[1]
end
set -g UNEXPORTED 'keep me'
snap before
functions fish_prompt | tail -n +2 >$out/prompt_before
source $A/bin/activate.fish
save VIRTUAL_ENV "$VIRTUAL_ENV"
save PATH_HEAD "$PATH[1]"
save NASTY "$NASTY"
save SPACED "$SPACED"
save RAW "$RAW"
save EMPTY "$EMPTY"
save CUDA "$CUDA_VISIBLE_DEVICES"
set -q PYTHONHOME; and save PYTHONHOME set; or save PYTHONHOME unset
save prompt (fish_prompt | string collect)
deactivate
snap after
functions -q deactivate; and save left yes; or save left no
functions fish_prompt | tail -n +2 >$out/prompt_after
set -q -g -x UNEXPORTED; and save unexported exported; or save unexported "$UNEXPORTED"
source $A/bin/activate.fish
source $B/bin/activate.fish
save ab_nasty (set -q NASTY; and echo set; or echo unset)
deactivate
snap ab
save done done
EOF
if command -v fish >/dev/null 2>&1; then
	out="$T_TMP/out-fish"
	rm -rf "$out" && mkdir -p "$out"
	env -i PATH="/usr/bin:/bin" HOME="$T_TMP" CUDA_VISIBLE_DEVICES="$old_cuda" \
		PYTHONHOME=/nonexistent/pythonhome fish --no-config "$T_TMP/driver.fish" "$out" "$A" "$B" \
		>"$out/stdout" 2>"$out/stderr"
	rc=$?
	if [ "$rc" -eq 0 ] && [ -f "$out/done" ] && [ ! -s "$out/stderr" ]; then
		t_pass "fish: activate.fish and deactivate run quietly"
		same_file "fish: VIRTUAL_ENV" "$T_TMP/exp_venv" "$out/VIRTUAL_ENV"
		same_file "fish: PATH starts with the venv's bin" "$T_TMP/exp_head" "$out/PATH_HEAD"
		same_file "fish: PYTHONHOME is erased" "$T_TMP/exp_unset" "$out/PYTHONHOME"
		same_file "fish: nasty value" "$T_TMP/exp_nasty" "$out/NASTY"
		same_file "fish: spaces at the ends" "$T_TMP/exp_spaced" "$out/SPACED"
		same_file "fish: bytes that are not UTF-8" "$T_TMP/exp_raw" "$out/RAW"
		same_file "fish: empty value" "$T_TMP/exp_empty" "$out/EMPTY"
		same_file "fish: new value" "$T_TMP/exp_cuda" "$out/CUDA"
		case "$(cat "$out/prompt")" in
		"(vlm) "*) t_pass "fish: the prompt gets the prefix" ;;
		*) t_fail "fish: the prompt gets the prefix" "$(cat "$out/prompt")" ;;
		esac
		same_file "fish: env after deactivate equals env before" "$out/before" "$out/after"
		same_file "fish: deactivate erases itself" "$T_TMP/exp_no" "$out/left"
		same_file "fish: the prompt function is restored" "$out/prompt_before" "$out/prompt_after"
		printf 'keep me' >"$T_TMP/exp_unx"
		same_file "fish: an unexported variable stays unexported" "$T_TMP/exp_unx" \
			"$out/unexported"
		same_file "fish: b over a drops a's variables" "$T_TMP/exp_unset" "$out/ab_nasty"
		same_file "fish: b over a, then deactivate, restores env" "$out/before" "$out/ab"
	else
		t_fail "fish: activate.fish and deactivate run quietly" "exit $rc" "$(cat "$out/stderr")"
	fi
else
	t_skip "activate.fish in fish" "fish is not installed (apt-get install fish)"
fi

# ---- shellcheck ----
if command -v shellcheck >/dev/null 2>&1; then
	for dialect in sh bash dash ksh; do
		t_run shellcheck -s "$dialect" "$A/bin/activate" "$B/bin/activate"
		if [ "$T_RC" = 0 ]; then
			t_pass "shellcheck -s $dialect activate"
		else
			t_fail "shellcheck -s $dialect activate" "$T_OUT"
		fi
	done
else
	t_skip "shellcheck activate" "shellcheck is not installed (apt-get install shellcheck)"
fi

# ---- a Windows venv, written here from a fake Windows Python tree ----
W="$T_TMP/winpy"
mkdir -p "$W/Lib/venv/scripts/nt"
printf 'MZ base interpreter' >"$W/python.exe"
printf 'MZ console launcher \001\002\377' >"$W/Lib/venv/scripts/nt/venvlauncher.exe"
printf 'MZ gui launcher' >"$W/Lib/venv/scripts/nt/venvwlauncher.exe"
wnasty=$(printf 'sq\047 dq" pct%%PATH%% caret^ amp& pipe| lt< gt> paren() bang! eq=x \303\251')
t_expect "mkvenv writes a Windows venv" 0 "" -- "$MKVENV" --platform windows-x86_64 \
	--python 3.12.4 --home "$W" --workload vlm --env "NASTY=$wnasty" --env "CUDA_VISIBLE_DEVICES=0" \
	"$T_TMP/wstage" 'C:\envs\vlm\.venv'
S="$T_TMP/wstage/Scripts"
missing=""
for f in Scripts/python.exe Scripts/pythonw.exe Scripts/activate Scripts/Activate.ps1 \
	Scripts/activate.bat Scripts/deactivate.bat Lib/site-packages Include pyvenv.cfg; do
	[ -e "$T_TMP/wstage/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then t_pass "Windows layout"; else t_fail "Windows layout" "missing:$missing"; fi
same_file "Scripts/python.exe is a copy of venvlauncher.exe" \
	"$W/Lib/venv/scripts/nt/venvlauncher.exe" "$S/python.exe"
same_file "Scripts/pythonw.exe is a copy of venvwlauncher.exe" \
	"$W/Lib/venv/scripts/nt/venvwlauncher.exe" "$S/pythonw.exe"
same_file "Activate.ps1 is the same for Windows" "$A/bin/Activate.ps1" "$S/Activate.ps1"
cr=$(printf '\r')
for bat in activate.bat deactivate.bat; do
	f="$S/$bat"
	lines=$(wc -l <"$f")
	crlf=$(grep -c "$cr\$" "$f")
	if [ "$lines" -gt 5 ] && [ "$lines" = "$crlf" ] && [ "$(tail -c 2 "$f" | od -An -c | tr -d ' ')" = '\r\n' ]; then
		t_pass "$bat: every line ends in CRLF"
	else
		t_fail "$bat: every line ends in CRLF" "$lines lines, $crlf with CR"
	fi
	tr -d '\r' <"$f" >"$T_TMP/$bat.lf"
	setl=$(grep -ci '^[[:space:]]*setlocal' "$T_TMP/$bat.lf")
	endl=$(grep -ci '^[[:space:]]*endlocal' "$T_TMP/$bat.lf")
	if [ "$setl" = "$endl" ]; then
		t_pass "$bat: setlocal and endlocal balance ($setl each)"
	else
		t_fail "$bat: setlocal and endlocal balance" "$setl setlocal, $endl endlocal"
	fi
	opens=$(grep -c '($' "$T_TMP/$bat.lf")
	closes=$(grep -c '^[[:space:]]*)$' "$T_TMP/$bat.lf")
	if [ "$opens" = "$closes" ]; then
		t_pass "$bat: blocks balance"
	else
		t_fail "$bat: blocks balance" "$opens open, $closes closed"
	fi
	bad=""
	for label in $(grep -io 'goto [a-z_:]*' "$T_TMP/$bat.lf" | sed 's/^goto //I' | sort -u); do
		[ "$label" = ":eof" ] && continue
		grep -qi "^:${label#:}\$" "$T_TMP/$bat.lf" || bad="$bad $label"
	done
	if [ -z "$bad" ]; then t_pass "$bat: every goto has its label"; else t_fail "$bat: labels" "missing:$bad"; fi
	if grep -q '^if "!!"=="" goto em_delayed$' "$T_TMP/$bat.lf" && grep -q '^:em_delayed$' "$T_TMP/$bat.lf"; then
		t_pass "$bat: refuses to run with delayed expansion on"
	else
		t_fail "$bat: refuses to run with delayed expansion on"
	fi
done
if grep -qx 'set VIRTUAL_ENV=C:\\envs\\vlm\\.venv' "$T_TMP/activate.bat.lf" &&
	grep -qx 'set "PATH=%VIRTUAL_ENV%\\Scripts"' "$T_TMP/activate.bat.lf"; then
	t_pass "activate.bat names the final root"
else
	t_fail "activate.bat names the final root" "$(grep -n 'VIRTUAL_ENV' "$T_TMP/activate.bat.lf")"
fi
want=$(printf 'set NASTY=sq\047 dq^" pct%%%%PATH%%%% caret^^ amp^& pipe^| lt^< gt^> paren^(^) bang! eq=x \303\251')
if grep -qxF -- "$want" "$T_TMP/activate.bat.lf"; then
	t_pass "activate.bat escapes a nasty value"
else
	t_fail "activate.bat escapes a nasty value" "want: $want" "$(grep -n 'set NASTY' "$T_TMP/activate.bat.lf")"
fi
if grep -qF 'envmatrix.env.NASTY = sq'"'"' dq" pct%PATH% caret^ amp& pipe| lt< gt> paren() bang! eq=x' \
	"$T_TMP/wstage/pyvenv.cfg"; then
	t_pass "pyvenv.cfg carries the variable for Activate.ps1"
else
	t_fail "pyvenv.cfg carries the variable for Activate.ps1" "$(cat "$T_TMP/wstage/pyvenv.cfg")"
fi
if grep -qx "VIRTUAL_ENV='C:\\\\envs\\\\vlm\\\\.venv'" "$S/activate" && grep -q cygpath "$S/activate"; then
	t_pass "Windows activate (Git Bash) names the final root and converts it"
else
	t_fail "Windows activate (Git Bash) names the final root and converts it" \
		"$(grep -n VIRTUAL_ENV= "$S/activate")"
fi
if command -v shellcheck >/dev/null 2>&1; then
	t_run shellcheck -s bash "$S/activate"
	if [ "$T_RC" = 0 ]; then
		t_pass "shellcheck the Windows activate"
	else
		t_fail "shellcheck the Windows activate" "$T_OUT"
	fi
fi
# its environment round trip works in bash too (there is no cygpath here)
out="$T_TMP/out-win"
mkdir -p "$out"
env -i PATH="/usr/bin:/bin" HOME="$T_TMP" bash -c '
	set -eu
	snap() { env -0 | grep -z -v -E "^(_|SHLVL|PWD|OLDPWD)=" | sort -z >"$1"; }
	snap "$2/before"
	. "$1/activate"
	printf "%s" "$PATH" >"$2/path"
	deactivate
	snap "$2/after"' driver "$S" "$out" 2>"$out/stderr"
printf '%s' 'C:\envs\vlm\.venv/Scripts:/usr/bin:/bin' >"$T_TMP/exp_winpath"
same_file "Windows activate in bash: PATH" "$T_TMP/exp_winpath" "$out/path"
same_file "Windows activate in bash: env restored" "$out/before" "$out/after"

# ---- Activate.ps1 parses ----
if ! command -v node >/dev/null 2>&1; then
	t_skip "Activate.ps1 parses" "node is not installed (apt-get install nodejs npm)"
elif [ ! -f "$NPM_PREFIX/node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm" ] ||
	[ ! -d "$NPM_PREFIX/node_modules/web-tree-sitter" ]; then
	t_skip "Activate.ps1 parses" "tree-sitter-powershell is not in '$NPM_PREFIX' (npm install --prefix $NPM_PREFIX --ignore-scripts web-tree-sitter@0.27.2 tree-sitter-powershell@0.26.4)"
else
	t_run node "$top/tests/tools/ps1-parse.mjs" "$NPM_PREFIX" "$A/bin/Activate.ps1"
	if [ "$T_RC" = 2 ]; then
		t_skip "Activate.ps1 parses" "this node cannot load tree-sitter-powershell: $(printf '%s' "$T_ERR" | head -n 1)"
	elif [ "$T_RC" = 0 ]; then
		t_pass "Activate.ps1 parses (tree-sitter-powershell)"
	else
		t_fail "Activate.ps1 parses (tree-sitter-powershell)" "$T_OUT" "$T_ERR"
	fi
	# the parser does find errors
	sed 's/^\( *\)if (\$PromptArg) {/\1if ($PromptArg {/' "$A/bin/Activate.ps1" >"$T_TMP/broken.ps1"
	t_run node "$top/tests/tools/ps1-parse.mjs" "$NPM_PREFIX" "$T_TMP/broken.ps1"
	if [ "$T_RC" = 2 ]; then
		: # reported above
	elif [ "$T_RC" = 1 ]; then
		t_pass "the PowerShell parser rejects a broken copy"
	else
		t_fail "the PowerShell parser rejects a broken copy" "exit $T_RC" "$T_OUT"
	fi
fi
if LC_ALL=C grep -q '[^ -~	]' "$A/bin/Activate.ps1"; then
	t_fail "Activate.ps1 is ASCII (Windows PowerShell reads it in the ANSI code page)"
else
	t_pass "Activate.ps1 is ASCII (Windows PowerShell reads it in the ANSI code page)"
fi

# ---- errors ----
t_expect_err "a value with a line break for a Windows target" 1 "activate.bat cannot set a value holding a line break" \
	-- "$MKVENV" --platform windows-x86_64 --python 3.12.4 --home "$W" --env "X=$(printf 'a\nb')" \
	"$T_TMP/wstage2" 'C:\envs\x'
mkdir -p "$T_TMP/nolauncher"
printf 'MZ' >"$T_TMP/nolauncher/python.exe"
t_expect_err "a Windows tree without a venv launcher" 1 "looked for 'Lib/venv/scripts/nt/venvlauncher.exe'" \
	-- "$MKVENV" --platform windows-x86_64 --python 3.12.4 --home "$T_TMP/nolauncher" \
	"$T_TMP/wstage3" 'C:\envs\x'
mkdir -p "$T_TMP/nopython"
t_expect_err "a folder without an interpreter" 1 "looked for 'bin/python3.12' and 'bin/python3'" \
	-- "$MKVENV" --python 3.12.4 --home "$T_TMP/nopython" "$T_TMP/stage4" "$T_TMP/final4"
# shellcheck disable=SC2086
t_expect_err "an existing staging folder" 1 "already exists" \
	-- "$MKVENV" $base_args "$A" "$T_TMP/final5"
# shellcheck disable=SC2086
t_expect_err "a reserved variable name" 1 "the activation scripts set PATH themselves" \
	-- "$MKVENV" $base_args --env "PATH=/x" "$T_TMP/stage6" "$T_TMP/final6"

t_done
