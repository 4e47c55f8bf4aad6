/* activate.c - the activation scripts envmatrix writes into a venv
 *
 * activate (sh family), activate.fish and activate.bat carry the venv's
 * path, prompt and variables in their text, each quoted for its shell:
 *
 *   sh     '...' with ' written as '\''; any byte but NUL stays as it is
 *   fish   '...' with \ and ' written as \\ and \'
 *   cmd    unquoted after set NAME=, every special character escaped with
 *          a caret (^^ ^& ^| ^< ^> ^( ^) ^") and % doubled; delayed
 *          expansion must be off (the scripts check and refuse)
 *
 * Activate.ps1 and deactivate.bat are the same text in every venv:
 * Activate.ps1 derives the paths from its own place and reads the prompt
 * and the variables from pyvenv.cfg (escaped by em_activate_cfg_escape), so
 * it can be signed once. deactivate.bat restores what the list _EM_VARS names.
 *
 * Each script remembers, for every variable it changes, whether it was set
 * and its value, and its deactivate restores exactly that.
 */
#include "activate.h"

#include <string.h>

#include "envmatrix/version.h"
#include "util/str.h"

const char *const em_activate_reserved[] = {
	"PATH", "PYTHONHOME", "VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "PS1", "PROMPT", NULL
};

/* The variables every script saves and restores, before the workload's. */
static const char *const std_vars[] = { "VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "PATH", "PYTHONHOME" };
#define NSTD (sizeof std_vars / sizeof std_vars[0])

/* ---- quoting ---- */

static void sh_quote(struct em_buf *b, const char *s)
{
	em_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			em_buf_addstr(b, "'\\''");
		else
			em_buf_addc(b, *s);
	}
	em_buf_addc(b, '\'');
}

static void fish_quote(struct em_buf *b, const char *s)
{
	em_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			em_buf_addc(b, '\\');
		em_buf_addc(b, *s);
	}
	em_buf_addc(b, '\'');
}

/* For "set NAME=VALUE" outside quotes, delayed expansion off. */
static void bat_escape(struct em_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			em_buf_addc(b, '%');
		else if (strchr("^&|<>()\"", *s))
			em_buf_addc(b, '^');
		em_buf_addc(b, *s);
	}
}

void em_activate_cfg_escape(struct em_buf *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			em_buf_addstr(b, "\\\\");
		} else if (c == '\n') {
			em_buf_addstr(b, "\\n");
		} else if (c == '\r') {
			em_buf_addstr(b, "\\r");
		} else if (c == '\t') {
			em_buf_addstr(b, "\\t");
		} else if (c < 0x20 || c == 0x7f || (c == ' ' && (i == 0 || i == n - 1))) {
			em_buf_addf(b, "\\x%02X", c);
		} else if (c >= 0x80) {
			uint32_t cp;
			size_t len = em_utf8_decode(s + i, n - i, &cp);
			if (len == 0) {
				em_buf_addf(b, "\\x%02X", c);
			} else {
				em_buf_add(b, s + i, len);
				i += len;
				continue;
			}
		} else {
			em_buf_addc(b, (char)c);
		}
		i++;
	}
}

/* ---- activate (sh) ---- */

static void sh_save(struct em_buf *b, const char *v)
{
	em_buf_addf(b, "if [ -n \"${%s+x}\" ]; then _EM_OLD_%s=$%s; else unset _EM_OLD_%s; fi\n", v, v,
		    v, v);
}

static void sh_restore(struct em_buf *b, const char *v, bool exported)
{
	em_buf_addf(b,
		    "\t\tif [ -n \"${_EM_OLD_%s+x}\" ]; then\n"
		    "\t\t\t%s=$_EM_OLD_%s\n",
		    v, v, v);
	if (exported)
		em_buf_addf(b, "\t\t\texport %s\n", v);
	em_buf_addf(b,
		    "\t\telse\n"
		    "\t\t\tunset %s\n"
		    "\t\tfi\n"
		    "\t\tunset _EM_OLD_%s\n",
		    v, v);
}

void em_activate_sh(struct em_buf *b, const struct em_activate *c)
{
	em_buf_addf(b,
		    "# activate - enter the envmatrix environment '%s' from bash, zsh, ksh or sh\n"
		    "#\n"
		    "# Source it (running it would change nothing):\n"
		    "#     . .venv/%s/activate\n"
		    "# It sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts the environment's %s\n"
		    "# folder first in PATH, unsets PYTHONHOME, puts \"(%s) \" in front of PS1\n"
		    "# (unless VIRTUAL_ENV_DISABLE_PROMPT is set) and exports the workload's\n"
		    "# variables. deactivate puts each of them back as it was, unset when it\n"
		    "# was unset, then removes itself; \"deactivate nondestructive\" keeps the\n"
		    "# function. A variable that was set but not exported comes back exported.\n"
		    "#\n"
		    "# Written by envmatrix %s for this environment; apply rewrites it.\n"
		    "# shellcheck shell=sh\n"
		    "\n"
		    "# leave the environment that is active now, if it left its deactivate\n"
		    "if type deactivate >/dev/null 2>&1; then\n"
		    "\tdeactivate nondestructive\n"
		    "fi\n"
		    "\n"
		    "deactivate () {\n"
		    "\tif [ -n \"${_EM_ACTIVE-}\" ]; then\n",
		    c->prompt, c->bin, c->bin, c->prompt, EM_VERSION);
	for (uint32_t i = c->nenv; i-- > 0;)
		sh_restore(b, c->names[i], true);
	sh_restore(b, "PS1", false);
	for (size_t i = NSTD; i-- > 0;)
		sh_restore(b, std_vars[i], true);
	em_buf_addstr(b,
		      "\t\tunset _EM_ACTIVE\n"
		      "\t\thash -r 2>/dev/null || :\n"
		      "\tfi\n"
		      "\tif [ \"${1-}\" != nondestructive ]; then\n"
		      "\t\tunset -f deactivate\n"
		      "\tfi\n"
		      "}\n"
		      "\n"
		      "# remember each variable this changes: _EM_OLD_NAME is set when NAME was\n"
		      "_EM_ACTIVE=1\n");
	for (size_t i = 0; i < NSTD; i++)
		sh_save(b, std_vars[i]);
	sh_save(b, "PS1");
	for (uint32_t i = 0; i < c->nenv; i++)
		sh_save(b, c->names[i]);

	em_buf_addstr(b, "\nVIRTUAL_ENV=");
	sh_quote(b, c->venv);
	em_buf_addc(b, '\n');
	if (c->os == EM_OS_WINDOWS)
		em_buf_addstr(b,
			      "# Git Bash, MSYS2, Cygwin: a path they understand\n"
			      "if command -v cygpath >/dev/null 2>&1; then\n"
			      "\tVIRTUAL_ENV=$(cygpath -u \"$VIRTUAL_ENV\")\n"
			      "fi\n");
	em_buf_addstr(b, "export VIRTUAL_ENV\nVIRTUAL_ENV_PROMPT=");
	sh_quote(b, c->prompt);
	em_buf_addstr(b, "\nexport VIRTUAL_ENV_PROMPT\n");
	if (strcmp(c->bin, "bin"))
		/* shellcheck takes a PATH without "/bin" or ':' for a mistake */
		em_buf_addstr(b, "# shellcheck disable=SC2123\n");
	em_buf_addf(b,
		    "PATH=\"$VIRTUAL_ENV/%s${PATH:+:$PATH}\"\n"
		    "export PATH\n"
		    "unset PYTHONHOME\n",
		    c->bin);
	if (c->nenv) {
		/* a literal's $, ` and quotes are meant: keep shellcheck quiet */
		em_buf_addstr(b,
			      "# the workload's variables: each value is the text between the quotes\n"
			      "# shellcheck disable=SC2016,SC2089,SC2090\n"
			      "{\n");
		for (uint32_t i = 0; i < c->nenv; i++) {
			em_buf_addf(b, "\t%s=", c->names[i]);
			sh_quote(b, c->values[i]);
			em_buf_addf(b, "\n\texport %s\n", c->names[i]);
		}
		em_buf_addstr(b, "}\n");
	}
	em_buf_addf(b,
		    "if [ -z \"${VIRTUAL_ENV_DISABLE_PROMPT-}\" ]; then\n"
		    "\tPS1=\"(%s) ${PS1-}\"\n"
		    "fi\n"
		    "# forget where commands were found before PATH changed\n"
		    "hash -r 2>/dev/null || :\n",
		    c->prompt);
}

/* The workload's variables, a line each: pre NAME mid VALUE (quoted by
 * quote), for fish and cmd.exe. */
static void var_lines(struct em_buf *b, const struct em_activate *c, const char *pre,
		      const char *mid, void (*quote)(struct em_buf *, const char *))
{
	for (uint32_t i = 0; i < c->nenv; i++) {
		em_buf_addstr(b, pre);
		em_buf_addstr(b, c->names[i]);
		em_buf_addstr(b, mid);
		quote(b, c->values[i]);
		em_buf_addc(b, '\n');
	}
}

/* ---- activate.fish ---- */

static void fish_save(struct em_buf *b, const char *v)
{
	em_buf_addf(b,
		    "set -e -g _EM_OLD_%s _EM_UNX_%s\n"
		    "if set -q -g %s\n"
		    "    set -g _EM_OLD_%s $%s\n"
		    "    set -q -g -x %s; or set -g _EM_UNX_%s 1\n"
		    "end\n",
		    v, v, v, v, v, v, v);
}

static void fish_restore(struct em_buf *b, const char *v)
{
	em_buf_addf(b,
		    "        if set -q -g _EM_OLD_%s\n"
		    "            if set -q -g _EM_UNX_%s\n"
		    "                set -g -u %s $_EM_OLD_%s\n"
		    "            else\n"
		    "                set -g -x %s $_EM_OLD_%s\n"
		    "            end\n"
		    "        else\n"
		    "            set -e -g %s\n"
		    "        end\n"
		    "        set -e -g _EM_OLD_%s _EM_UNX_%s\n",
		    v, v, v, v, v, v, v, v, v);
}

void em_activate_fish(struct em_buf *b, const struct em_activate *c)
{
	em_buf_addf(b,
		    "# activate.fish - enter the envmatrix environment '%s' from fish\n"
		    "#\n"
		    "# Source it:\n"
		    "#     source .venv/%s/activate.fish\n"
		    "# It sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts the environment's %s\n"
		    "# folder first in PATH, erases PYTHONHOME, puts \"(%s) \" in front of the\n"
		    "# prompt (unless VIRTUAL_ENV_DISABLE_PROMPT is set) and exports the\n"
		    "# workload's variables. deactivate puts each of them back as it was\n"
		    "# (erased, exported or not, as before) and then erases itself;\n"
		    "# \"deactivate nondestructive\" keeps the function.\n"
		    "#\n"
		    "# Written by envmatrix %s for this environment; apply rewrites it.\n"
		    "\n"
		    "# leave the environment that is active now, if it left its deactivate\n"
		    "if functions -q deactivate\n"
		    "    deactivate nondestructive\n"
		    "end\n"
		    "\n"
		    "function deactivate --description 'Leave the envmatrix environment'\n"
		    "    if set -q -g _em_active\n",
		    c->prompt, c->bin, c->bin, c->prompt, EM_VERSION);
	for (uint32_t i = c->nenv; i-- > 0;)
		fish_restore(b, c->names[i]);
	for (size_t i = NSTD; i-- > 0;)
		fish_restore(b, std_vars[i]);
	em_buf_addstr(b,
		      "        if functions -q _em_old_fish_prompt\n"
		      "            functions -e fish_prompt\n"
		      "            functions -c _em_old_fish_prompt fish_prompt\n"
		      "            functions -e _em_old_fish_prompt\n"
		      "        end\n"
		      "        set -e -g _em_active\n"
		      "    end\n"
		      "    if test \"$argv[1]\" != nondestructive\n"
		      "        functions -e deactivate\n"
		      "    end\n"
		      "end\n"
		      "\n"
		      "# remember each variable this changes: _EM_OLD_NAME is set when NAME was,\n"
		      "# _EM_UNX_NAME when it was not exported\n"
		      "set -g _em_active 1\n");
	for (size_t i = 0; i < NSTD; i++)
		fish_save(b, std_vars[i]);
	for (uint32_t i = 0; i < c->nenv; i++)
		fish_save(b, c->names[i]);

	em_buf_addstr(b, "\nset -g -x VIRTUAL_ENV ");
	fish_quote(b, c->venv);
	em_buf_addstr(b, "\nset -g -x VIRTUAL_ENV_PROMPT ");
	fish_quote(b, c->prompt);
	em_buf_addf(b,
		    "\nset -g -x PATH \"$VIRTUAL_ENV/%s\" $PATH\n"
		    "set -e -g PYTHONHOME\n",
		    c->bin);
	var_lines(b, c, "set -g -x ", " ", fish_quote);
	em_buf_addstr(b,
		      "if test -z \"$VIRTUAL_ENV_DISABLE_PROMPT\"; and functions -q fish_prompt\n"
		      "    functions -c fish_prompt _em_old_fish_prompt\n"
		      "    function fish_prompt\n"
		      "        set -l last_status $status\n"
		      "        printf '(%s) ' $VIRTUAL_ENV_PROMPT\n"
		      "        # the previous prompt sees the status it would have seen\n"
		      "        echo \"exit $last_status\" | source\n"
		      "        _em_old_fish_prompt\n"
		      "    end\n"
		      "end\n");
}

/* ---- activate.bat, deactivate.bat ---- */

/* Written with LF here, turned into CRLF by the caller of the generators. */
static const char bat_delayed_check[] = "if \"!!\"==\"\" goto em_delayed\n";

static const char bat_codepage_utf8[] =
	"rem read and write UTF-8 while this runs\n"
	"set _EM_CP=\n"
	"for /f \"tokens=2 delims=:.\" %%c in ('\"%SystemRoot%\\System32\\chcp.com\"') do set _EM_CP=%%c\n"
	"if defined _EM_CP \"%SystemRoot%\\System32\\chcp.com\" 65001 >nul\n";

static const char bat_codepage_back[] =
	"if defined _EM_CP \"%SystemRoot%\\System32\\chcp.com\" %_EM_CP% >nul\n"
	"set _EM_CP=\n";

/* Put back every variable _EM_VARS names from _EM_OLD_NAME (unset when
 * there is none). A FOR variable's value is never parsed again, so the
 * old values may hold any character. */
static const char bat_restore[] =
	"for %%n in (%_EM_VARS%) do (\n"
	"\tset %%n=\n"
	"\tfor /f \"tokens=1* delims==\" %%a in ('set _EM_OLD_%%n 2^>nul') do if /i \"%%a\"==\"_EM_OLD_%%n\" set \"%%n=%%b\"\n"
	"\tset _EM_OLD_%%n=\n"
	")\n"
	"set _EM_VARS=\n";

static void bat_delayed_refusal(struct em_buf *b, const char *script)
{
	em_buf_addf(b,
		    ":em_delayed\n"
		    "echo envmatrix: %s needs delayed expansion off: run it in a cmd.exe started with /V:OFF 1>&2\n"
		    "exit /b 1\n",
		    script);
}

void em_activate_bat(struct em_buf *b, const struct em_activate *c)
{
	em_buf_addf(b,
		    "@echo off\n"
		    "rem activate.bat - enter the envmatrix environment '%s' in cmd.exe\n"
		    "rem\n"
		    "rem Run it in the cmd.exe session to change: .venv\\%s\\activate.bat\n"
		    "rem It sets VIRTUAL_ENV and VIRTUAL_ENV_PROMPT, puts the %s folder first\n"
		    "rem in PATH, removes PYTHONHOME, puts (%s) in front of PROMPT (unless\n"
		    "rem VIRTUAL_ENV_DISABLE_PROMPT is set) and sets the workload's variables.\n"
		    "rem deactivate.bat puts each of them back as it was, removed when it was\n"
		    "rem not set. It needs delayed expansion off, the default of cmd.exe.\n"
		    "rem Written by envmatrix %s for this environment; apply rewrites it.\n",
		    c->prompt, c->bin, c->bin, c->prompt, EM_VERSION);
	em_buf_addstr(b, bat_delayed_check);
	em_buf_addstr(b, bat_codepage_utf8);
	em_buf_addstr(b,
		      "rem leave the envmatrix environment that is active now\n"
		      "if not defined _EM_VARS goto em_left\n");
	em_buf_addstr(b, bat_restore);
	em_buf_addstr(b,
		      ":em_left\n"
		      "rem remember each variable this changes: _EM_OLD_NAME is set when NAME was\n"
		      "set _EM_VARS=");
	for (size_t i = 0; i < NSTD; i++)
		em_buf_addf(b, "%s ", std_vars[i]);
	em_buf_addstr(b, "PROMPT");
	for (uint32_t i = 0; i < c->nenv; i++)
		em_buf_addf(b, " %s", c->names[i]);
	em_buf_addstr(b,
		      "\nfor %%n in (%_EM_VARS%) do (\n"
		      "\tset _EM_OLD_%%n=\n"
		      "\tfor /f \"tokens=1* delims==\" %%a in ('set %%n 2^>nul') do if /i \"%%a\"==\"%%n\" set \"_EM_OLD_%%n=%%b\"\n"
		      ")\n"
		      "set VIRTUAL_ENV=");
	bat_escape(b, c->venv);
	em_buf_addstr(b, "\nset VIRTUAL_ENV_PROMPT=");
	bat_escape(b, c->prompt);
	em_buf_addf(b,
		    "\nset \"PATH=%%VIRTUAL_ENV%%%c%s\"\n"
		    "for /f \"tokens=1* delims==\" %%%%a in ('set _EM_OLD_PATH 2^>nul') do if /i \"%%%%a\"==\"_EM_OLD_PATH\" set \"PATH=%%VIRTUAL_ENV%%%c%s;%%%%b\"\n"
		    "set PYTHONHOME=\n",
		    c->sep, c->bin, c->sep, c->bin);
	var_lines(b, c, "set ", "=", bat_escape);
	em_buf_addf(b,
		    "if defined VIRTUAL_ENV_DISABLE_PROMPT goto em_prompted\n"
		    "if not defined PROMPT set PROMPT=$P$G\n"
		    "for /f \"tokens=1* delims==\" %%%%a in ('set PROMPT 2^>nul') do if /i \"%%%%a\"==\"PROMPT\" set \"PROMPT=(%s) %%%%b\"\n"
		    ":em_prompted\n",
		    c->prompt);
	em_buf_addstr(b, bat_codepage_back);
	em_buf_addstr(b, "goto :eof\n");
	bat_delayed_refusal(b, "activate.bat");
}

void em_deactivate_bat(struct em_buf *b)
{
	em_buf_addstr(b,
		      "@echo off\n"
		      "rem deactivate.bat - leave the envmatrix environment entered with activate.bat\n"
		      "rem\n"
		      "rem Puts back every variable activate.bat changed (VIRTUAL_ENV,\n"
		      "rem VIRTUAL_ENV_PROMPT, PATH, PYTHONHOME, PROMPT and the workload's own)\n"
		      "rem as it was before, removed when it was not set. The list is in\n"
		      "rem _EM_VARS and each old value in _EM_OLD_NAME, so this file is the same\n"
		      "rem in every environment. It needs delayed expansion off, the default.\n"
		      "rem Written by envmatrix.\n"
		      "if not defined _EM_VARS goto :eof\n");
	em_buf_addstr(b, bat_delayed_check);
	em_buf_addstr(b, bat_codepage_utf8);
	em_buf_addstr(b, bat_restore);
	em_buf_addstr(b, bat_codepage_back);
	em_buf_addstr(b, "goto :eof\n");
	bat_delayed_refusal(b, "deactivate.bat");
}

/* ---- Activate.ps1 ---- */

/* ASCII only (Windows PowerShell 5.1 reads a file without a byte order mark
 * in the ANSI code page); the same bytes in every venv. */
const char em_activate_ps1[] =
	"<#\n"
	".SYNOPSIS\n"
	"Enter an envmatrix environment in this PowerShell session.\n"
	"\n"
	".DESCRIPTION\n"
	"Sets VIRTUAL_ENV to the environment (the folder above the one holding this\n"
	"script), puts this script's folder first in PATH, removes PYTHONHOME, sets\n"
	"VIRTUAL_ENV_PROMPT and a \"(name) \" prompt prefix (unless\n"
	"VIRTUAL_ENV_DISABLE_PROMPT is set) and sets the workload's environment\n"
	"variables. The function deactivate puts every one of them back as it was\n"
	"(removed when it was not set) and then removes itself; deactivate\n"
	"-NonDestructive keeps the function.\n"
	"\n"
	"This file is the same in every environment envmatrix writes, on Windows and\n"
	"elsewhere, so one signed copy serves them all. What differs is read at run\n"
	"time from the environment's pyvenv.cfg, lines of KEY = VALUE:\n"
	"    prompt = NAME                    the name shown in the prompt\n"
	"    envmatrix.env.NAME = VALUE       one line per workload variable\n"
	"In VALUE, \\\\ is a backslash, \\n a line feed, \\r a carriage return, \\t a tab\n"
	"and \\xHH the character U+00HH (envmatrix writes control characters, spaces\n"
	"at either end and bytes that are not UTF-8 this way); the rest is UTF-8.\n"
	"Windows has no empty variables: one set to an empty value is removed.\n"
	"\n"
	"Running it under the default execution policy: Windows client editions run\n"
	"no scripts until allowed (policy Restricted). Allow local scripts for your\n"
	"account once with\n"
	"    Set-ExecutionPolicy -ExecutionPolicy RemoteSigned -Scope CurrentUser\n"
	"or only in this PowerShell process with\n"
	"    Set-ExecutionPolicy -ExecutionPolicy Bypass -Scope Process\n"
	"or start a shell with the environment active:\n"
	"    powershell -ExecutionPolicy Bypass -NoExit -File .venv\\Scripts\\Activate.ps1\n"
	"RemoteSigned is enough for files envmatrix wrote on this machine; a copy\n"
	"that came from a download or an archive carries a mark of the web and needs\n"
	"a signature (or Unblock-File). PowerShell on Linux and macOS runs it as is.\n"
	"\n"
	".PARAMETER Prompt\n"
	"Show this name in the prompt instead of the one in pyvenv.cfg.\n"
	"\n"
	".EXAMPLE\n"
	"PS C:\\work> .venv\\Scripts\\Activate.ps1\n"
	"(vlm) PS C:\\work> deactivate\n"
	"PS C:\\work>\n"
	"\n"
	".NOTES\n"
	"Written by envmatrix. Needs PowerShell 3 or later.\n"
	"#>\n"
	"[CmdletBinding()]\n"
	"param(\n"
	"    [Parameter(Mandatory = $false)]\n"
	"    [String] $Prompt\n"
	")\n"
	"\n"
	"# Leave the environment that is active now, if one left its deactivate.\n"
	"if (Test-Path -LiteralPath 'Function:\\deactivate') {\n"
	"    deactivate -NonDestructive\n"
	"}\n"
	"\n"
	"function global:deactivate {\n"
	"    param([Switch] $NonDestructive)\n"
	"    $saved = Get-Variable -Name '_EnvmatrixSaved' -Scope Global -ValueOnly -ErrorAction SilentlyContinue\n"
	"    if ($null -ne $saved) {\n"
	"        foreach ($entry in $saved.Variables) {\n"
	"            [System.Environment]::SetEnvironmentVariable($entry.Name, $entry.Value)\n"
	"        }\n"
	"        if ($saved.PromptSet) {\n"
	"            if ($null -ne $saved.Prompt) {\n"
	"                Set-Item -Path 'Function:global:prompt' -Value $saved.Prompt\n"
	"            } else {\n"
	"                Remove-Item -Path 'Function:global:prompt' -ErrorAction SilentlyContinue\n"
	"            }\n"
	"        }\n"
	"        Remove-Variable -Name '_EnvmatrixSaved' -Scope Global\n"
	"    }\n"
	"    if (-not $NonDestructive) {\n"
	"        Remove-Item -Path 'Function:global:deactivate' -ErrorAction SilentlyContinue\n"
	"    }\n"
	"}\n"
	"\n"
	"& {\n"
	"    param([String] $BinDir, [String] $PromptArg)\n"
	"\n"
	"    if (-not $BinDir) {\n"
	"        throw 'Activate.ps1: run it as a script file (it finds the environment from its own place)'\n"
	"    }\n"
	"    $venvDir = [System.IO.Path]::GetDirectoryName($BinDir)\n"
	"    $cfgPath = Join-Path -Path $venvDir -ChildPath 'pyvenv.cfg'\n"
	"    $name = $null\n"
	"    $vars = [ordered]@{}\n"
	"    $reserved = @('PATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'VIRTUAL_ENV_PROMPT')\n"
	"    $unescape = [System.Text.RegularExpressions.MatchEvaluator] {\n"
	"        param($m)\n"
	"        $c = $m.Groups[1].Value\n"
	"        if ($c.Length -eq 3) {\n"
	"            return [String][Char]([Convert]::ToInt32($c.Substring(1), 16))\n"
	"        }\n"
	"        if ($c -ceq 'n') { return \"`n\" }\n"
	"        if ($c -ceq 'r') { return \"`r\" }\n"
	"        if ($c -ceq 't') { return \"`t\" }\n"
	"        return $c\n"
	"    }\n"
	"    if (Test-Path -LiteralPath $cfgPath -PathType Leaf) {\n"
	"        foreach ($line in [System.IO.File]::ReadAllLines($cfgPath)) {\n"
	"            $eq = $line.IndexOf('=')\n"
	"            if ($eq -lt 0) { continue }\n"
	"            $key = $line.Substring(0, $eq).Trim()\n"
	"            $value = $line.Substring($eq + 1).Trim([Char[]] @(' ', \"`t\"))\n"
	"            if ($key -eq 'prompt') {\n"
	"                if ($value.Length -ge 2 -and ($value[0] -eq \"'\" -or $value[0] -eq '\"') -and\n"
	"                    $value[$value.Length - 1] -eq $value[0]) {\n"
	"                    $value = $value.Substring(1, $value.Length - 2)\n"
	"                }\n"
	"                $name = $value\n"
	"            } elseif ($key.StartsWith('envmatrix.env.', [System.StringComparison]::Ordinal)) {\n"
	"                $var = $key.Substring(14)\n"
	"                if ($var -cmatch '^[A-Za-z_][A-Za-z0-9_]*$' -and $reserved -notcontains $var) {\n"
	"                    $vars[$var] = [regex]::Replace($value, '\\\\(x[0-9A-Fa-f]{2}|.)', $unescape)\n"
	"                }\n"
	"            }\n"
	"        }\n"
	"    }\n"
	"    if ($PromptArg) { $name = $PromptArg }\n"
	"    if (-not $name) { $name = [System.IO.Path]::GetFileName($venvDir) }\n"
	"\n"
	"    # Remember every variable this changes, with its value now ($null: not set).\n"
	"    $saved = New-Object -TypeName System.Collections.ArrayList\n"
	"    foreach ($var in @($reserved) + @($vars.Keys)) {\n"
	"        $old = [System.Environment]::GetEnvironmentVariable($var)\n"
	"        [void] $saved.Add([PSCustomObject] @{ Name = $var; Value = $old })\n"
	"    }\n"
	"    $global:_EnvmatrixSaved = [PSCustomObject] @{\n"
	"        Variables = $saved\n"
	"        PromptSet = $false\n"
	"        Prompt = $null\n"
	"    }\n"
	"\n"
	"    $path = [System.Environment]::GetEnvironmentVariable('PATH')\n"
	"    if ($path) {\n"
	"        $path = $BinDir + [System.IO.Path]::PathSeparator + $path\n"
	"    } else {\n"
	"        $path = $BinDir\n"
	"    }\n"
	"    [System.Environment]::SetEnvironmentVariable('VIRTUAL_ENV', $venvDir)\n"
	"    [System.Environment]::SetEnvironmentVariable('VIRTUAL_ENV_PROMPT', $name)\n"
	"    [System.Environment]::SetEnvironmentVariable('PATH', $path)\n"
	"    [System.Environment]::SetEnvironmentVariable('PYTHONHOME', $null)\n"
	"    foreach ($var in $vars.Keys) {\n"
	"        [System.Environment]::SetEnvironmentVariable($var, $vars[$var])\n"
	"    }\n"
	"\n"
	"    if (-not $env:VIRTUAL_ENV_DISABLE_PROMPT) {\n"
	"        $global:_EnvmatrixSaved.PromptSet = $true\n"
	"        $global:_EnvmatrixSaved.Prompt = ${function:prompt}\n"
	"        function global:prompt {\n"
	"            Write-Host -NoNewline -ForegroundColor Green \"($env:VIRTUAL_ENV_PROMPT) \"\n"
	"            $previous = $global:_EnvmatrixSaved.Prompt\n"
	"            if ($null -ne $previous) {\n"
	"                & $previous\n"
	"            } else {\n"
	"                \"PS $($ExecutionContext.SessionState.Path.CurrentLocation)> \"\n"
	"            }\n"
	"        }\n"
	"    }\n"
	"} $PSScriptRoot $Prompt\n";
