#!/bin/sh
# test_debug_metadata.sh - `envmatrix debug metadata FILE`
. "$(dirname "$0")/lib.sh"

tab=$(printf '\t')
fixtures="$(cd "$(dirname "$0")/../fixtures" && pwd)"

cat >"$T_TMP/METADATA" <<'END'
Metadata-Version: 2.4
Name: demo-pkg
Version: 2.8.0+cu126
Summary: a demo
Requires-Python: >=3.9
Requires-Dist: numpy>=1.26
Provides-Extra: test
Requires-Dist: pytest; extra == "test"
Provides-Extra: Docs

Requires-Dist: in-the-body
END

want="metadata-version${tab}2.4
name${tab}demo-pkg
version${tab}2.8.0+cu126
requires-python${tab}>=3.9
requires-dist${tab}numpy>=1.26
requires-dist${tab}pytest; extra == \"test\"
provides-extra${tab}test
provides-extra${tab}Docs"
t_expect "lines" 0 "$want" -- "$EM" debug metadata "$T_TMP/METADATA"
t_expect "stdin" 0 "$want" -- sh -c '"$1" debug metadata - <"$2"' sh "$EM" "$T_TMP/METADATA"
sed 's/$/\r/' "$T_TMP/METADATA" >"$T_TMP/crlf"
t_expect "CRLF line ends" 0 "$want" -- "$EM" debug metadata "$T_TMP/crlf"

want='{
  "metadata-version": "2.4",
  "name": "demo-pkg",
  "version": "2.8.0+cu126",
  "requires-python": ">=3.9",
  "requires-dist": [
    "numpy>=1.26",
    "pytest; extra == \"test\""
  ],
  "provides-extra": [
    "test",
    "Docs"
  ]
}'
t_expect "json" 0 "$want" -- "$EM" debug metadata --json "$T_TMP/METADATA"

printf 'metadata-version: 1.0\nNAME: old\nversion: 0.1\n' >"$T_TMP/old"
want="metadata-version${tab}1.0
name${tab}old
version${tab}0.1
requires-python${tab}"
t_expect "no requires-python, field names in any case" 0 "$want" -- "$EM" debug metadata "$T_TMP/old"
want='{
  "metadata-version": "1.0",
  "name": "old",
  "version": "0.1",
  "requires-python": null,
  "requires-dist": [],
  "provides-extra": []
}'
t_expect "json without requires-python" 0 "$want" -- "$EM" debug metadata "$T_TMP/old" --json

printf 'Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b\n  ; extra == "x\\\\y"\n' >"$T_TMP/folded"
want="metadata-version${tab}2.1
name${tab}a
version${tab}1
requires-python${tab}
requires-dist${tab}b\\n  ; extra == \"x\\\\\\\\y\""
t_expect "a folded value is escaped" 0 "$want" -- "$EM" debug metadata "$T_TMP/folded"

# a real file: every Requires-Dist line, in order
torch=$(ls -d "$fixtures"/cu130-stack/torch-*.dist-info)/METADATA
want=$(sed -n 's/^Requires-Dist: //p' "$torch")
t_expect "torch's requirements" 0 "$want" -- sh -c '"$1" debug metadata "$2" | sed -n "s/^requires-dist\t//p"' sh "$EM" "$torch"
t_expect "torch's name" 0 "torch" -- sh -c '"$1" debug metadata "$2" | sed -n "s/^name\t//p"' sh "$EM" "$torch"

# errors: FILE:LINE: message, exit 1
printf 'Metadata-Version: 2.1\nName: a\nno colon\n' >"$T_TMP/bad"
t_expect_err "header without a colon" 1 "error: $T_TMP/bad:3: expected 'Field: value', found 'no colon'" -- "$EM" debug metadata "$T_TMP/bad"
t_expect_err "error on stdin" 1 "error: <stdin>:3: expected" -- sh -c '"$1" debug metadata - <"$2"' sh "$EM" "$T_TMP/bad"
printf 'Metadata-Version: 3.0\nName: a\nVersion: 1\n' >"$T_TMP/v3"
t_expect_err "newer major metadata version" 1 "$T_TMP/v3:1: unsupported metadata version '3.0'" -- "$EM" debug metadata "$T_TMP/v3"
printf 'Metadata-Version: 2.1\nName: a\n' >"$T_TMP/nover"
t_expect_err "missing Version" 1 "$T_TMP/nover: missing required field 'Version'" -- "$EM" debug metadata "$T_TMP/nover"
printf 'Metadata-Version: 2.1\nName: a\nVersion: 1\nName: b\n' >"$T_TMP/dup"
t_expect_err "duplicate Name" 1 "$T_TMP/dup:4: duplicate field 'Name' (first on line 2)" -- "$EM" debug metadata "$T_TMP/dup"
printf 'Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: x\000y\n' >"$T_TMP/nul"
t_expect_err "NUL byte" 1 "$T_TMP/nul:4: NUL byte" -- "$EM" debug metadata "$T_TMP/nul"
printf 'Metadata-Version: 2.1\nName: caf\351\nVersion: 1\n' >"$T_TMP/latin1"
t_expect_err "non-UTF-8 name" 1 "$T_TMP/latin1:2: field 'Name' is not valid UTF-8" -- "$EM" debug metadata "$T_TMP/latin1"
truncate -s 65M "$T_TMP/huge"
t_expect_err "over 64 MiB" 1 "$T_TMP/huge: metadata is larger than 64 MiB" -- "$EM" debug metadata "$T_TMP/huge"
rm -f "$T_TMP/huge"
t_expect_err "missing file" 1 "cannot open '$T_TMP/nope'" -- "$EM" debug metadata "$T_TMP/nope"
t_expect_err "a folder" 1 "cannot read '$T_TMP'" -- "$EM" debug metadata "$T_TMP"

# usage errors: exit 2
t_expect_err "no FILE" 2 "missing FILE" -- "$EM" debug metadata
t_expect_err "two files" 2 "expected one FILE" -- "$EM" debug metadata "$T_TMP/old" "$T_TMP/old"
t_expect_err "unknown option" 2 "unknown option '--yaml'" -- "$EM" debug metadata --yaml "$T_TMP/old"
t_expect_err "--json takes no value" 2 "takes no value" -- "$EM" debug metadata --json=1 "$T_TMP/old"
t_run "$EM" debug metadata --help
if [ "$T_RC" = 0 ] && printf '%s\n' "$T_OUT" | grep -q 'usage: envmatrix debug metadata \[--json\] FILE'; then
	t_pass "--help"
else
	t_fail "--help" "exit $T_RC" "stdout: $T_OUT"
fi

t_done
