#!/bin/sh
# fetch.sh - `make bench`, part two: a cold apply over HTTP.
#
#   sh tests/bench/fetch.sh ENVMATRIX WHEELS
#
# A four-workload matrix (w1, w2, w3 share the 197-wheel torch-shaped stack
# of the install benchmark, w4 has its part without torch and CUDA) is
# applied with --frozen from an empty cache, the wheels served by nginx on
# loopback, without the verification (--no-verify: the synthetic wheels
# hold filler bytes of the real files' sizes, not code that imports, and
# neither the floor nor pip checks anything). Compared in the same run with
#   the floor: curl of every distinct file, eight at a time, then unzip of
#              each once, one per core, then sync (envmatrix makes what it
#              unpacks durable before using it)
#   pip:       four venvs filled by pip install --no-deps --no-compile from
#              the same index (its own cache empty at the start)
# Peak memory (max RSS) of the apply is printed next to the largest file.
set -u
EM=$1
WHEELS=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/tools/httpd.sh"
echo "cold apply over HTTP (4 workloads, 3 sharing the stack), nginx on 127.0.0.1"
if ! httpd_have_nginx; then
	echo "  skipped: nginx is not installed (apt-get install nginx)"
	exit 0
fi
if [ ! -d "$WHEELS" ]; then
	echo "  skipped: no benchmark wheels in '$WHEELS'"
	exit 0
fi
PYV=$("$EM" python list 2>/dev/null | awk '$2 == "cpython" && $1 !~ /t$/ { print $1; exit }')
PYBIN=$("$EM" python list 2>/dev/null | awk '$2 == "cpython" && $1 !~ /t$/ { print $4; exit }')
if [ -z "$PYV" ]; then
	echo "  skipped: no CPython here"
	exit 0
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/envmatrix-bench-fetch.XXXXXX") || exit 1
trap 'httpd_nginx_stop "$W/ng" >/dev/null 2>&1; rm -rf "$W"' EXIT INT TERM
mkdir -p "$W/srv"
if ! httpd_nginx_start "$W/srv" "$W/ng" 2>"$W/ng.err"; then
	echo "  skipped: nginx did not start: $(cat "$W/ng.err")"
	exit 0
fi
BASE="http://127.0.0.1:$HTTPD_HTTP_PORT"
echo "  $(python3 "$top/tests/bench/fetch_setup.py" "$WHEELS" "$W" "$BASE" "$PYV")"
ncpu=$(nproc 2>/dev/null || echo 2)
bytes=$(cat "$WHEELS"/*.whl | wc -c)
largest=$(ls -S "$WHEELS" | head -n 1)
largest_kib=$(($(wc -c <"$WHEELS/$largest") / 1024))

# timed OUT CMD...: wall seconds and max RSS (KiB) into OUT
timed() {
	out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$out" "$@" >"$W/last.log" 2>&1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ROUNDS=3
: >"$W/t.floor"
: >"$W/t.em"
: >"$W/rss.em"
# Nothing is removed until the end: on ext4 every new inode scans past the
# ones freed in the last 30 s (recently_deleted()), which would time the
# removal of the last round instead of this one. For the same reason the
# benchmark waits out the removals of the install benchmark before it.
sleep "${FETCH_SETTLE_S:-31}"
r=1
while [ $r -le $ROUNDS ]; do
	# the floor
	mkdir -p "$W/r$r/floor/dl" "$W/r$r/floor/x"
	sync
	timed "$W/time" sh -c "cd '$W/r$r/floor/dl' &&
		xargs -P 8 -n 16 curl -s -S --fail --remote-name-all <'$W/urls.txt' &&
		ls | xargs -P $ncpu -I{} unzip -q -o {} -d '$W/r$r/floor/x/{}' && sync" ||
		{ echo "  floor failed: $(cat "$W/last.log")"; exit 1; }
	cut -d' ' -f1 "$W/time" >>"$W/t.floor"
	n=$(ls "$W/r$r/floor/dl" | wc -l)
	[ "$n" = "$(wc -l <"$W/urls.txt")" ] || { echo "  floor: $n files downloaded"; exit 1; }
	# envmatrix, cold
	mkdir -p "$W/r$r/em" && cp "$W/m/"* "$W/r$r/em/"
	sync
	timed "$W/time" env ENVMATRIX_CACHE_DIR="$W/r$r/em/cache" "$EM" -q apply --frozen --no-verify -f "$W/r$r/em/matrix.ini" ||
		{ echo "  envmatrix apply failed: $(cat "$W/last.log")"; exit 1; }
	cut -d' ' -f1 "$W/time" >>"$W/t.em"
	cut -d' ' -f2 "$W/time" >>"$W/rss.em"
	r=$((r + 1))
done
tf=$(median <"$W/t.floor")
te=$(median <"$W/t.em")
rss=$(sort -n "$W/rss.em" | tail -n 1)
printf '  %d MiB in the distinct files, the largest %s (%d KiB)\n' $((bytes / 1048576)) "$largest" "$largest_kib"
printf '  (a) floor: curl -P 8 of the distinct files + unzip each once   %7.2f s  (median of %d)\n' "$tf" $ROUNDS
printf '  (b) envmatrix apply --frozen, empty cache, 4 workloads      %7.2f s  (median of %d) = %.2fx the floor\n' \
	"$te" $ROUNDS "$(echo "$te $tf" | awk '{ print $1 / $2 }')"
printf '      peak memory %d KiB (the largest file is %d KiB)\n' "$rss" "$largest_kib"

# pip: four venvs, one after the other, its cache empty at the start
if [ -n "$PYBIN" ] && "$PYBIN" -m pip --version >/dev/null 2>&1; then
	pipver=$("$PYBIN" -m pip --version | cut -d' ' -f2)
	for w in w1 w2 w3 w4; do
		"$PYBIN" -m venv "$W/pip/$w" >/dev/null 2>&1 || { echo "  (c) pip: skipped, venv failed"; exit 0; }
	done
	timed "$W/time" sh -c "for w in w1 w2 w3 w4; do
		PIP_CACHE_DIR='$W/pip/cache' '$W'/pip/\$w/bin/python -m pip install -q --no-deps --no-compile \
			--disable-pip-version-check --index-url '$BASE/simple' -r '$W/req/'\$w.txt || exit 1
	done" || { echo "  (c) pip failed: $(tail -n 5 "$W/last.log")"; exit 0; }
	tp=$(cut -d' ' -f1 "$W/time")
	printf '  (c) pip %s install --no-deps --no-compile, 4 venvs          %7.2f s  = envmatrix is %.1fx faster\n' \
		"$pipver" "$tp" "$(echo "$tp $te" | awk '{ print $1 / $2 }')"
else
	echo "  (c) pip: skipped, $PYV has no pip"
fi
