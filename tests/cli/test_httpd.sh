#!/bin/sh
# test_httpd.sh - the test servers themselves (tests/tools/httpd.sh and
# tests/tools/faultserver.py), checked with curl: nginx over HTTP and HTTPS
# with the test CA, PEP 691 negotiation, ranges, revalidation; every fault
# of the fault server; nothing left running after the stop functions.
# shellcheck disable=SC1091 # sourced at run time: lib.sh, httpd.sh
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$(dirname "$0")/../tools/httpd.sh"

www="$T_TMP/www"
ngx="$T_TMP/nginx"
flt="$T_TMP/fault"

cleanup() {
	httpd_nginx_stop "$ngx" 2>/dev/null
	httpd_fault_stop "$flt" 2>/dev/null
	httpd_nginx_stop "$T_TMP/orphan" 2>/dev/null
	httpd_fault_stop "$T_TMP/orphan-fault" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

if ! command -v curl >/dev/null 2>&1; then
	t_skip "every check" "curl is not installed (apt-get install curl)"
	t_done
	exit
fi

helpers="$(cd "$(dirname "$0")/../tools" && pwd)/httpd.sh"
HTTPD_FAULTSERVER="$(dirname "$helpers")/faultserver.py"
export HTTPD_FAULTSERVER

sha() { sha256sum "$1" | cut -d' ' -f1; }

# gone_within SECONDS PID...: $left is what still runs after that long
gone_within() {
	n=$(($1 * 10))
	shift
	while :; do
		left=
		for p in "$@"; do
			_httpd_alive "$p" && left="$left $p"
		done
		[ -z "$left" ] || [ "$n" -le 0 ] && return
		sleep 0.1
		n=$((n - 1))
	done
}

# fetch URL [curl options...]: body in $T_TMP/body, headers in $T_TMP/hdrs,
# status in $code, curl's exit status in $rc
fetch() {
	code=$(curl -s -o "$T_TMP/body" -D "$T_TMP/hdrs" -w '%{http_code}' "$@")
	rc=$?
}

# hdr NAME: the value of that header in the last response of $T_TMP/hdrs
hdr() {
	grep -i "^$1:" "$T_TMP/hdrs" | tail -n 1 | cut -d' ' -f2- | tr -d '\r'
}

size() { wc -c <"$1" | tr -d ' '; }

# check WHAT CONDITION-COMMAND...: pass or fail with the last response
check() {
	what=$1
	shift
	if "$@"; then
		t_pass "$what"
	else
		t_fail "$what" "rc=${rc:-} code=${code:-}" "$(tr -d '\r' <"$T_TMP/hdrs" 2>/dev/null | head -n 12)"
	fi
}

# ---- the tree ----
mkdir -p "$www/pypi/numpy" "$www/pypi/plain" "$www/files"
cat >"$www/pypi/numpy/index.html" <<'EOF'
<!DOCTYPE html><html><body><a href="numpy-1.26.4-py3-none-any.whl">numpy-1.26.4-py3-none-any.whl</a></body></html>
EOF
cat >"$www/pypi/numpy/index.json" <<'EOF'
{"meta": {"api-version": "1.1"}, "name": "numpy", "files": []}
EOF
echo '<html>plain</html>' >"$www/pypi/plain/index.html"
head -c 300000 /dev/urandom >"$www/pypi/numpy/numpy-1.26.4-py3-none-any.whl"
printf 'Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n' \
	>"$www/pypi/numpy/numpy-1.26.4-py3-none-any.whl.metadata"
head -c 5000 /dev/urandom >"$www/files/small.bin"
head -c 81920 /dev/urandom >"$www/files/slow.bin"
whl="$www/pypi/numpy/numpy-1.26.4-py3-none-any.whl"
whl_sha=$(sha "$whl")
whl_path=/pypi/numpy/numpy-1.26.4-py3-none-any.whl
json_type=application/vnd.pypi.simple.v1+json

# ---- nginx ----
if ! httpd_have_nginx; then
	for what in "serves a file over HTTP" "serves it over HTTPS with the test CA" \
		"https://localhost works too (DNS SAN)" "HTTPS without the CA fails verification" \
		"Accept json -> index.json as $json_type" "no Accept -> index.html as text/html" \
		"Accept json, no index.json -> index.html" "Range -> 206" "suffix range -> 206" \
		"unsatisfiable range -> 416" "If-None-Match -> 304" ".whl and .metadata types" \
		"folder without slash -> 301" "stop leaves no process"; do
		t_skip "nginx: $what" "nginx is not installed (apt-get install nginx)"
	done
elif ! httpd_nginx_start "$www" "$ngx" 2>"$T_TMP/ngx.err"; then
	t_fail "nginx starts" "$(cat "$T_TMP/ngx.err")"
else
	t_pass "nginx starts (http $HTTPD_HTTP_PORT, https $HTTPD_HTTPS_PORT)"
	h="http://127.0.0.1:$HTTPD_HTTP_PORT"
	s="https://127.0.0.1:$HTTPD_HTTPS_PORT"

	fetch "$h$whl_path"
	check "nginx: serves a file over HTTP" \
		[ "$rc/$code/$(sha "$T_TMP/body")" = "0/200/$whl_sha" ]
	fetch "$s$whl_path" --cacert "$HTTPD_CA"
	check "nginx: serves it over HTTPS with the test CA" \
		[ "$rc/$code/$(sha "$T_TMP/body")" = "0/200/$whl_sha" ]
	fetch "https://localhost:$HTTPD_HTTPS_PORT$whl_path" --cacert "$HTTPD_CA"
	check "nginx: https://localhost works too (DNS SAN)" [ "$rc/$code" = "0/200" ]
	fetch "$s$whl_path"
	check "nginx: HTTPS without the CA fails verification (curl exit 60)" [ "$rc" = 60 ]

	fetch "$h/pypi/numpy/" -H "Accept: $json_type, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
	check "nginx: Accept json -> index.json as $json_type" \
		[ "$code/$(hdr Content-Type)/$(sha "$T_TMP/body")" = "200/$json_type/$(sha "$www/pypi/numpy/index.json")" ]
	fetch "$h/pypi/numpy/"
	check "nginx: no Accept -> index.html as text/html" \
		[ "$code/$(hdr Content-Type)/$(sha "$T_TMP/body")" = "200/text/html/$(sha "$www/pypi/numpy/index.html")" ]
	fetch "$h/pypi/plain/" -H "Accept: $json_type"
	check "nginx: Accept json, no index.json -> index.html" \
		[ "$code/$(hdr Content-Type)" = "200/text/html" ]

	fetch "$h$whl_path" -r 100-199
	check "nginx: Range -> 206" [ "$code/$(hdr Content-Range)/$(size "$T_TMP/body")" = "206/bytes 100-199/300000/100" ]
	head -c 200 "$whl" | tail -c 100 | cmp -s - "$T_TMP/body" || t_fail "nginx: range bytes differ"
	fetch "$h$whl_path" -H "Range: bytes=-10"
	check "nginx: suffix range -> 206" [ "$code/$(hdr Content-Range)" = "206/bytes 299990-299999/300000" ]
	fetch "$h$whl_path" -r 400000-
	check "nginx: unsatisfiable range -> 416" [ "$code" = 416 ]

	fetch "$h$whl_path"
	etag=$(hdr ETag)
	fetch "$h$whl_path" -H "If-None-Match: $etag"
	check "nginx: If-None-Match -> 304" [ -n "$etag" ] && [ "$code" = 304 ]

	fetch "$h$whl_path" -I
	t1=$(hdr Content-Type)
	fetch "$h$whl_path.metadata" -I
	t2=$(hdr Content-Type)
	check "nginx: .whl and .metadata types" [ "$t1/$t2" = "application/octet-stream/application/octet-stream" ]
	fetch "$h/pypi/numpy"
	check "nginx: folder without slash -> 301" [ "$code/$(hdr Location)" = "301//pypi/numpy/" ]

	master=$(cat "$ngx/nginx.pid")
	workers=$(_httpd_children "$master")
	watch=$(cat "$ngx/nginx.watch.pid")
	httpd_nginx_stop "$ngx"
	left=
	for p in $master $workers $watch; do
		_httpd_alive "$p" && left="$left $p"
	done
	if command -v pgrep >/dev/null 2>&1 && pgrep -f "$ngx" >/dev/null; then
		left="$left $(pgrep -f "$ngx" | tr '\n' ' ')"
	fi
	check "nginx: stop leaves no process" [ -z "$left" ] && [ -n "$master" ] && [ -n "$workers" ]

	# a shell that forgets to stop it: the watchdog does
	sh -c '. "$1" && httpd_nginx_start "$2" "$3"' sh "$helpers" "$www" "$T_TMP/orphan"
	orphan=$(cat "$T_TMP/orphan/nginx.pid" 2>/dev/null)
	gone_within 3 "$orphan"
	check "nginx: stops by itself when its shell has gone" [ -n "$orphan" ] && [ -z "$left" ]
	httpd_nginx_stop "$T_TMP/orphan"
fi

# ---- the fault server ----
if ! httpd_fault_start "$www" "$flt" 2>"$T_TMP/flt.err"; then
	t_fail "faultserver starts" "$(cat "$T_TMP/flt.err")"
	t_done
	exit 1
fi
t_pass "faultserver starts (port $HTTPD_FAULT_PORT)"
f="http://127.0.0.1:$HTTPD_FAULT_PORT"

fetch "$f$whl_path"
check "plain: whole file, Content-Length, ETag, Last-Modified" \
	[ "$rc/$code/$(sha "$T_TMP/body")/$(hdr Content-Length)" = "0/200/$whl_sha/300000" ] &&
	[ -n "$(hdr ETag)" ] && [ -n "$(hdr Last-Modified)" ]
etag=$(hdr ETag)
lastmod=$(hdr Last-Modified)
fetch "$f$whl_path" -r 100-199
check "plain: Range -> 206" [ "$code/$(hdr Content-Range)/$(size "$T_TMP/body")" = "206/bytes 100-199/300000/100" ] &&
	head -c 200 "$whl" | tail -c 100 | cmp -s - "$T_TMP/body"
fetch "$f$whl_path" -H "Range: bytes=-10"
check "plain: suffix range -> 206" [ "$code/$(hdr Content-Range)" = "206/bytes 299990-299999/300000" ] &&
	tail -c 10 "$whl" | cmp -s - "$T_TMP/body"
fetch "$f$whl_path" -r 300000-
check "plain: unsatisfiable range -> 416" [ "$code/$(hdr Content-Range)" = "416/bytes */300000" ]
fetch "$f$whl_path" -H "If-None-Match: $etag"
check "plain: If-None-Match -> 304" [ "$code" = 304 ]
fetch "$f$whl_path" -H "If-Modified-Since: $lastmod"
check "plain: If-Modified-Since -> 304" [ "$code" = 304 ]
fetch "$f$whl_path" -r 0-9 -H 'If-Range: "other"'
check "plain: If-Range mismatch -> 200" [ "$code" = 200 ]
fetch "$f/pypi/numpy/" -H "Accept: $json_type, text/html;q=0.01"
check "plain: Accept json -> index.json as $json_type" \
	[ "$code/$(hdr Content-Type)/$(sha "$T_TMP/body")" = "200/$json_type/$(sha "$www/pypi/numpy/index.json")" ]
fetch "$f/pypi/numpy/"
check "plain: no Accept -> index.html" \
	[ "$code/$(sha "$T_TMP/body")" = "200/$(sha "$www/pypi/numpy/index.html")" ] &&
	hdr Content-Type | grep -q '^text/html'
fetch "$f/pypi/numpy/" -H "Accept: application/vnd.pypi.simple.v1+html"
check "plain: Accept v1+html -> index.html as v1+html" \
	[ "$code/$(hdr Content-Type)" = "200/application/vnd.pypi.simple.v1+html" ]
fetch "$f/pypi/numpy"
check "plain: folder without slash -> 301" [ "$code/$(hdr Location)" = "301//pypi/numpy/" ]
fetch "$f/nothing-here.whl"
check "plain: missing file -> 404" [ "$code" = 404 ]
curl -sv -o /dev/null -o /dev/null "$f$whl_path" "$f$whl_path" 2>"$T_TMP/v"
check "plain: keep-alive (curl reuses the connection)" grep -qi 're-using existing connection' "$T_TMP/v"

# drop-once: half the body, then a resume completes it
out="$T_TMP/drop.whl"
rm -f "$out"
code=$(curl -s -o "$out" -w '%{http_code}' "$f/drop-once$whl_path")
rc=$?
check "drop-once: first GET fails (curl 18) after half the body" [ "$rc/$code/$(size "$out")" = "18/200/150000" ]
code=$(curl -s -C - -o "$out" -w '%{http_code}' "$f/drop-once$whl_path")
rc=$?
check "drop-once: curl -C - resumes (206) to the right sha256" [ "$rc/$code/$(sha "$out")" = "0/206/$whl_sha" ]

# drop-always: every answer cut at half; resuming still finishes
out="$T_TMP/small.bin"
rm -f "$out"
tries=0
while [ "$tries" -lt 30 ]; do
	tries=$((tries + 1))
	if [ -f "$out" ]; then
		curl -s -C - -o "$out" "$f/drop-always/files/small.bin"
	else
		curl -s -o "$out" "$f/drop-always/files/small.bin"
	fi && break
done
check "drop-always: resuming finishes in $tries steps with the right sha256" \
	[ "$(sha "$out")" = "$(sha "$www/files/small.bin")" ] && [ "$tries" -gt 5 ]

# status faults
c1=$(curl -s -o /dev/null -w '%{http_code}' "$f/503-once$whl_path")
c2=$(curl -s -o /dev/null -w '%{http_code}' "$f/503-once$whl_path")
check "503-once: 503 then 200" [ "$c1/$c2" = "503/200" ]
fetch "$f/429-once$whl_path"
c1=$code ra=$(hdr Retry-After)
c2=$(curl -s -o /dev/null -w '%{http_code}' "$f/429-once$whl_path")
check "429-once: 429 with Retry-After: 1, then 200" [ "$c1/$ra/$c2" = "429/1/200" ]
c1=$(curl -s -o /dev/null -w '%{http_code}' "$f/500-twice$whl_path")
c2=$(curl -s -o /dev/null -w '%{http_code}' "$f/500-twice$whl_path")
c3=$(curl -s -o /dev/null -w '%{http_code}' "$f/500-twice$whl_path")
check "500-twice: 500, 500, then 200" [ "$c1/$c2/$c3" = "500/500/200" ]
fetch "$f/status/418/anything"
check "status/418: always 418" [ "$code" = 418 ]

# stall-once: curl's low-speed limit gives up; the retry works
start=$(date +%s)
curl -s -o /dev/null --speed-limit 1000 --speed-time 2 "$f/stall-once$whl_path"
rc=$?
took=$(($(date +%s) - start))
check "stall-once: curl --speed-time 2 gives up (28) in ${took}s" [ "$rc" = 28 ] && [ "$took" -lt 10 ]
fetch "$f/stall-once$whl_path" --speed-limit 1000 --speed-time 2
check "stall-once: the retry gets the file" [ "$rc/$code/$(sha "$T_TMP/body")" = "0/200/$whl_sha" ]

fetch "$f/wrong-body$whl_path"
check "wrong-body: same length, other sha256" \
	[ "$rc/$code/$(size "$T_TMP/body")" = "0/200/300000" ] && [ "$(sha "$T_TMP/body")" != "$whl_sha" ]
fetch "$f/lying-length$whl_path"
check "lying-length: curl fails (18)" [ "$rc/$code/$(hdr Content-Length)" = "18/200/301024" ]
fetch "$f/short-length$whl_path"
check "short-length: curl gets only Content-Length bytes" [ "$code/$(size "$T_TMP/body")" = "200/150000" ]
fetch "$f/endless/x.whl" -m 1
check "endless: still sending after 1 s (curl 28, > 1 MB)" [ "$rc/$code" = "28/200" ] && [ "$(size "$T_TMP/body")" -gt 1048576 ]
fetch "$f/garbage/pypi/numpy/"
check "garbage: 10 MiB of text/html" [ "$rc/$code/$(size "$T_TMP/body")/$(hdr Content-Type)" = "0/200/10485760/text/html" ]
fetch "$f/redirect-loop$whl_path" -L --max-redirs 5
check "redirect-loop: curl -L --max-redirs 5 fails (47)" [ "$rc/$code" = "47/302" ]
fetch "$f/no-range$whl_path" -r 0-9
check "no-range: Range ignored, 200 with the whole file" [ "$code/$(sha "$T_TMP/body")" = "200/$whl_sha" ]

fetch "$f/auth/alice:s3cret$whl_path"
c1=$code
fetch "$f/auth/alice:s3cret$whl_path" -u alice:wrong
c2=$code
fetch "$f/auth/alice:s3cret$whl_path" -u alice:s3cret
check "auth: 401 without or with wrong credentials, 200 with them" \
	[ "$c1/$c2/$code/$(sha "$T_TMP/body")" = "401/401/200/$whl_sha" ]

code=$(curl -s -o "$T_TMP/body" -w '%{http_code} %{time_total}' "$f/slow/files/slow.bin")
secs=${code#* }
check "slow: 80 KiB take ${secs}s (>= 1 s at 64 KiB/s)" \
	[ "${code%% *}/$(sha "$T_TMP/body")" = "200/$(sha "$www/files/slow.bin")" ] && [ "${secs%%.*}" -ge 1 ]

# many clients at once
i=0
pids=
while [ "$i" -lt 40 ]; do
	curl -s -m 20 -o "$T_TMP/par.$i" "$f$whl_path" &
	pids="$pids $!"
	i=$((i + 1))
done
# not a bare "wait": the fault server is a background job of this shell too
for p in $pids; do
	wait "$p"
done
bad=0
i=0
while [ "$i" -lt 40 ]; do
	[ "$(sha "$T_TMP/par.$i")" = "$whl_sha" ] || bad=$((bad + 1))
	i=$((i + 1))
done
check "40 concurrent downloads all complete" [ "$bad" = 0 ]

# /_stats and /_reset
curl -s -o "$T_TMP/stats" "$f/_stats"
n=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get(sys.argv[2]), d.get(sys.argv[3]), d.get(sys.argv[4]))' \
	"$T_TMP/stats" "/503-once$whl_path" "/500-twice$whl_path" "/drop-once$whl_path")
check "/_stats counts requests per full path" [ "$n" = "2 3 2" ]
curl -s -o /dev/null -X POST "$f/_reset"
c1=$(curl -s -o /dev/null -w '%{http_code}' "$f/503-once$whl_path")
check "/_reset clears counts and fault state" [ "$(curl -s "$f/_stats")" = "{\"/503-once$whl_path\": 1}" ] && [ "$c1" = 503 ]
check "the log has one line per request" grep -q "^GET /auth/alice:s3cret$whl_path range=- auth=yes status=200\$" "$flt/fault.log"

# stopping: prompt even with a client stalled mid-body
curl -s -o /dev/null -m 20 "$f/stall-once/files/small.bin" &
cpid=$!
sleep 0.3
fpid=$(cat "$flt/fault.pid")
start=$(date +%s)
httpd_fault_stop "$flt"
took=$(($(date +%s) - start))
wait "$cpid" 2>/dev/null
left=
_httpd_alive "$fpid" && left=$fpid
if command -v pgrep >/dev/null 2>&1 && pgrep -f "$flt" >/dev/null; then
	left="$left $(pgrep -f "$flt" | tr '\n' ' ')"
fi
check "faultserver: stop is prompt (${took}s) and leaves no process" [ -z "$left" ] && [ "$took" -le 2 ]
if [ -s "$flt/fault.err" ]; then
	t_fail "faultserver: nothing on stderr" "$(head -n 20 "$flt/fault.err")"
else
	t_pass "faultserver: nothing on stderr"
fi

sh -c '. "$1" && httpd_fault_start "$2" "$3"' sh "$helpers" "$www" "$T_TMP/orphan-fault"
orphan=$(cat "$T_TMP/orphan-fault/fault.pid" 2>/dev/null)
gone_within 3 "$orphan"
check "faultserver: stops by itself when its shell has gone" [ -n "$orphan" ] && [ -z "$left" ]
httpd_fault_stop "$T_TMP/orphan-fault"

t_done
