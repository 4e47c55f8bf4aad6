#!/bin/sh
# mk/demo.sh BIN DIR - the offline demo behind `make run`
#
# Copies matrices/demo.ini and its stand-in indexes to DIR, gathers the
# real wheels this machine has (the pip and setuptools that interpreters
# bundle for ensurepip, Debian's /usr/share/python-wheels) into DIR/wheels,
# points the two workloads at the newest two Pythons here (one when there is
# only one), and runs envmatrix: apply (which builds vlm's sdist-only
# demo-transcribe from source), a command inside each environment, status. Nothing is fetched from the network. Running it again shows the
# environments unchanged; `envmatrix rollback` works on them as usual.
set -eu

bin=$1
dir=$2
here=$(cd "$(dirname "$0")/.." && pwd)
case $bin in /*) ;; *) bin=$here/$bin ;; esac

mkdir -p "$dir"
rm -rf "$dir/demo" "$dir/wheels"
cp -R "$here/matrices/demo" "$dir/demo"
mkdir -p "$dir/wheels"

# the interpreters: newest first, one per X.Y, GIL-enabled CPython only
pythons=$("$bin" python list | awk '
	$2 == "cpython" && $1 !~ /t$/ {
		split($1, v, ".")
		xy = v[1] "." v[2]
		if (!(xy in seen) && v[1] >= 3) { seen[xy] = 1; print $1 " " $4 }
	}' | head -n 2)
if [ -z "$pythons" ]; then
	echo "envmatrix demo: no CPython 3 interpreter found in PATH or pyenv;" \
	     "install one (apt-get install python3)" >&2
	exit 1
fi
first=$(echo "$pythons" | sed -n 1p)
second=$(echo "$pythons" | sed -n 2p)
[ -n "$second" ] || second=$first
vlm_py=${first%% *}
legacy_py=${second%% *}

# real wheels found on this machine (the first copy of a file name wins)
for p in $(echo "$pythons" | awk '{print $2}'); do
	prefix=$(dirname "$(dirname "$p")")
	for w in "$prefix"/lib/python3*/ensurepip/_bundled/*.whl; do
		[ -f "$w" ] || continue
		[ -f "$dir/wheels/$(basename "$w")" ] || cp "$w" "$dir/wheels/"
	done
done
for w in /usr/share/python-wheels/pip-*.whl /usr/share/python-wheels/setuptools-*.whl; do
	[ -f "$w" ] || continue
	[ -f "$dir/wheels/$(basename "$w")" ] || cp "$w" "$dir/wheels/"
done
if ! ls "$dir/wheels"/pip-*.whl >/dev/null 2>&1; then
	echo "envmatrix demo: no pip wheel on this machine (apt-get install" \
	     "python3-pip-whl)" >&2
	exit 1
fi
have_setuptools=no
ls "$dir/wheels"/setuptools-*.whl >/dev/null 2>&1 && have_setuptools=yes

# the matrix: the template with this machine's Pythons and wheels
awk -v vlm="$vlm_py" -v legacy="$legacy_py" -v st="$have_setuptools" '
	/^\[/ { section = $0 }
	/^python[ \t]*=/ && section == "[vlm]" { print "python = " vlm; next }
	/^python[ \t]*=/ && section == "[legacy]" { print "python = " legacy; next }
	/^    setuptools$/ && st == "no" { next }
	{ print }' "$here/matrices/demo.ini" >"$dir/demo.ini"

echo "envmatrix demo: vlm on Python $vlm_py, legacy on Python $legacy_py," \
     "wheels: $(cd "$dir/wheels" && echo *)" >&2
cd "$dir"
"$bin" apply -f demo.ini
echo
"$bin" run -f demo.ini vlm -- demo-report
"$bin" run -f demo.ini vlm -- demo-transcribe
"$bin" run -f demo.ini vlm -- python -m pip --version
"$bin" run -f demo.ini legacy -- demo-report
"$bin" run -f demo.ini legacy -- python -c 'import sys, os; print(sys.version.split()[0], sys.prefix, "DEMO_LEGACY=" + os.environ.get("DEMO_LEGACY", ""))'
echo
"$bin" status -f demo.ini
