#!/bin/sh
# test_http.sh - plan and apply over HTTP against the fault-injecting test
# server (tests/tools/faultserver.py) and nginx with TLS (when installed):
# pages, range-read metadata, retries, resumes, stalls, bad bodies, endless
# and lying responses, redirect loops, credentials, the shared cache under
# two concurrent applies, Ctrl-C, --offline and --refresh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tools/httpd.sh"

MKINDEX=${MKINDEX:-$(dirname "$EM")/tools/mkindex}
top=$(cd "$(dirname "$0")/../.." && pwd)
SRV="$T_TMP/srv"
ST="$T_TMP/state"
mkdir -p "$SRV" "$ST"
cleanup() {
	httpd_fault_stop "$ST" >/dev/null 2>&1
	httpd_nginx_stop "$ST/nginx" >/dev/null 2>&1
	rm -rf "$T_TMP"
}
trap cleanup EXIT INT TERM

# ---- the index: apply.spec's packages, plus 'big' with ~300 KiB of
# hardly compressible data (a wheel over 64 KiB), served without PEP 658 sidecars
{
	sed -e 's/^index simple format=both$/index simple format=both sidecars=no/' \
		"$top/tests/indexes/apply.spec"
	printf '  package big\n    wheel py3-none-any\n    version 1.0\n'
	for i in 1 2 3 4 5; do
		printf '      file big/data%s.txt "%s"\n' $i \
			"$(head -c 30000 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	done
} >"$T_TMP/http.spec"
grep -q 'sidecars=no' "$T_TMP/http.spec" &&
	"$MKINDEX" "$T_TMP/http.spec" "$SRV" >/dev/null ||
	{ t_fail "build the test index"; t_done; exit 1; }
BIGWHL=$(cd "$SRV/simple/big" && ls big-*.whl)
BIGSIZE=$(wc -c <"$SRV/simple/big/$BIGWHL")

PYV=$("$EM" python list 2>/dev/null | awk '$2 == "cpython" && $1 !~ /t$/ { print $1; exit }')
if [ -z "$PYV" ]; then
	t_skip "every check" "no CPython 3 interpreter (apt-get install python3)"
	t_done
	exit
fi
PYV=${PYV%.*}

httpd_fault_start "$SRV" "$ST" || { t_fail "start the fault server"; t_done; exit 1; }
F="http://127.0.0.1:$HTTPD_FAULT_PORT"
export ENVMATRIX_HTTP_BACKOFF_MS=50 ENVMATRIX_HTTP_STALL_S=2

# mk NAME INDEX_URL [PACKAGES]: a matrix folder $T_TMP/NAME with one
# workload 'a', a cache of its own unless CACHE is set
mk() {
	d="$T_TMP/$1"
	rm -rf "$d"
	mkdir -p "$d"
	cat >"$d/matrix.ini" <<EOF
[matrix]
index-url = $2
python = $PYV
cache-dir = ${CACHE:-cache}

[a]
path = a
packages =
EOF
	for p in ${3:-hello}; do
		printf '    %s\n' "$p" >>"$d/matrix.ini"
	done
}
# the fault server's own endpoints, read with python3 (no curl needed)
stats() { # PATH: how many requests the fault server saw for PATH
	python3 -c 'import json,sys,urllib.request as u
print(json.load(u.urlopen(sys.argv[1] + "/_stats", timeout=10)).get(sys.argv[2], 0))' "$F" "$1"
}
reset() {
	python3 -c 'import sys,urllib.request as u
u.urlopen(u.Request(sys.argv[1] + "/_reset", data=b"", method="POST"), timeout=10).read()' "$F" >/dev/null
	: >"$ST/fault.log"
}
leftovers() { # DIR: partial or stray files in a cache
	find "$1" \( -name '*.part' -o -path "$1/tmp/*" \) -print 2>/dev/null
}

# ---- plain HTTP: plan and apply, metadata by range requests ----
reset
mk plain "$F/simple" "hello big"
t_run "$EM" -v plan -f "$T_TMP/plain/matrix.ini"
if [ "$T_RC" = 0 ] && grep -q "url = \"$F/simple/hello/hello-2.0-py3-none-any.whl\"" "$T_TMP/plain/pylock.a.toml"; then
	t_pass "plan over HTTP writes http URLs into the lock"
else
	t_fail "plan over HTTP" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
# planning never downloads the wheel: only ranged GETs of it
full=$(grep "^GET /simple/big/$BIGWHL range=- " "$ST/fault.log" | wc -l)
ranged=$(grep -c "^GET /simple/big/$BIGWHL range=bytes" "$ST/fault.log")
if [ "$full" = 0 ] && [ "$ranged" -ge 1 ] && [ "$ranged" -le 3 ]; then
	t_pass "no sidecar: METADATA read with $ranged range requests, the wheel not downloaded"
else
	t_fail "range requests for METADATA" "full GETs $full, ranged $ranged" "$(cat "$ST/fault.log")"
fi
t_run "$EM" apply -f "$T_TMP/plain/matrix.ini"
if [ "$T_RC" = 0 ] && "$EM" run -f "$T_TMP/plain/matrix.ini" a -- python -c 'import hello, big' 2>/dev/null; then
	t_pass "apply over HTTP: the environment works"
else
	t_fail "apply over HTTP" "exit $T_RC" "$T_OUT" "$T_ERR"
fi
[ -z "$(leftovers "$T_TMP/plain/cache")" ] && t_pass "no partial files left in the cache" ||
	t_fail "leftovers" "$(leftovers "$T_TMP/plain/cache")"

# pages are revalidated (304), --refresh fetches them whole, --offline
# needs no server
reset
t_run "$EM" -v plan -f "$T_TMP/plain/matrix.ini"
n304=$(grep -c 'status=304' "$ST/fault.log")
[ "$T_RC" = 0 ] && [ "$n304" -ge 2 ] && t_pass "second plan revalidates pages ($n304 answered 304)" ||
	t_fail "revalidation" "exit $T_RC, $n304 304s" "$(cat "$ST/fault.log")"
reset
t_run "$EM" plan --refresh -f "$T_TMP/plain/matrix.ini"
n304=$(grep -c 'status=304' "$ST/fault.log")
[ "$T_RC" = 0 ] && [ "$n304" = 0 ] && t_pass "--refresh fetches pages whole" ||
	t_fail "--refresh" "exit $T_RC, $n304 304s"
reset
t_run "$EM" plan --offline -f "$T_TMP/plain/matrix.ini"
t_run2=$T_RC
t_run "$EM" apply --offline --force -f "$T_TMP/plain/matrix.ini"
if [ "$t_run2" = 0 ] && [ "$T_RC" = 0 ] && [ ! -s "$ST/fault.log" ]; then
	t_pass "--offline plans and applies from the cache without a request"
else
	t_fail "--offline" "plan $t_run2, apply $T_RC" "$T_ERR" "$(cat "$ST/fault.log")"
fi
mk offline-empty "$F/simple"
t_run "$EM" plan --offline -f "$T_TMP/offline-empty/matrix.ini"
case $T_RC:$T_ERR in
1:*"$F/simple/hello/"*"--offline"*) t_pass "--offline with an empty cache names the missing page" ;;
*) t_fail "--offline, empty cache" "exit $T_RC" "$T_ERR" ;;
esac

# ---- a server without ranges: the wheel is downloaded instead ----
reset
mk norange "$F/no-range/simple" big
t_run "$EM" plan -f "$T_TMP/norange/matrix.ini"
if [ "$T_RC" = 0 ] && ls "$T_TMP"/norange/cache/wheels/*/"$BIGWHL" >/dev/null 2>&1; then
	t_pass "no ranges: the whole wheel is read, and kept for apply"
else
	t_fail "no ranges" "exit $T_RC" "$T_ERR"
fi
reset
t_run "$EM" apply -f "$T_TMP/norange/matrix.ini"
n=$(grep -c "^GET /no-range/simple/big/$BIGWHL " "$ST/fault.log")
[ "$T_RC" = 0 ] && [ "$n" = 0 ] && t_pass "apply reuses the wheel planning downloaded" ||
	t_fail "reuse" "exit $T_RC, $n GETs" "$T_ERR"

# ---- faults that pass: retried, resumed ----
for fault in drop-once 503-once 429-once 500-twice stall-once drop-always; do
	reset
	mk "f-$fault" "$F/$fault/simple" "hello big"
	if [ $fault = drop-always ]; then
		# pages are not resumed: only the files go through this one
		sed -i "s|^index-url = .*|index-url = $F/simple|" "$T_TMP/f-$fault/matrix.ini"
		"$EM" plan -f "$T_TMP/f-$fault/matrix.ini" >/dev/null 2>&1
		sed -i "s|$F/simple/|$F/$fault/simple/|" "$T_TMP/f-$fault/pylock.a.toml"
		set -- --frozen
	else
		set --
	fi
	t_run "$EM" apply "$@" -f "$T_TMP/f-$fault/matrix.ini"
	if [ "$T_RC" = 0 ] && [ -z "$(leftovers "$T_TMP/f-$fault/cache")" ] &&
		"$EM" run -f "$T_TMP/f-$fault/matrix.ini" a -- python -c 'import big' 2>/dev/null; then
		t_pass "$fault: retried and applied"
	else
		t_fail "$fault" "exit $T_RC" "$T_OUT" "$T_ERR" "$(cat "$ST/fault.log")"
	fi
done
if grep -q "^GET /drop-once/simple/big/$BIGWHL range=bytes=[1-9][0-9]*- " "$ST/fault.log" ||
	grep -q "^GET /drop-always/simple/big/$BIGWHL range=bytes=[1-9][0-9]*- " "$ST/fault.log"; then
	t_pass "a dropped download resumes with a Range request"
else
	t_fail "resume with Range" "$(grep "$BIGWHL" "$ST/fault.log")"
fi

# ---- faults that do not pass: clear errors, nothing cached ----
# fail FAULT WHAT PATTERN [PACKAGES]: apply fails, naming PATTERN
fail() {
	reset
	mk "g-$1" "$F/$1/simple" "${4:-big}"
	# plan against the clean index, then point the lock at the fault
	sed -i "s|^index-url = .*|index-url = $F/simple|" "$T_TMP/g-$1/matrix.ini"
	"$EM" plan -f "$T_TMP/g-$1/matrix.ini" >/dev/null 2>&1
	sed -i "s|$F/simple/|$F/$1/simple/|" "$T_TMP/g-$1/pylock.a.toml"
	t_run env ENVMATRIX_HTTP_RETRIES=1 "$EM" apply --frozen -f "$T_TMP/g-$1/matrix.ini"
	case $T_RC:$T_ERR in
	1:*$3*)
		if [ -n "$(leftovers "$T_TMP/g-$1/cache")" ] ||
			ls "$T_TMP"/g-"$1"/cache/wheels/*/*.whl >/dev/null 2>&1; then
			t_fail "$2: nothing cached" "$(find "$T_TMP/g-$1/cache" -type f)"
		elif [ -d "$T_TMP/g-$1/a/.venv" ]; then
			t_fail "$2: no environment made"
		else
			t_pass "$2"
		fi
		;;
	*) t_fail "$2" "exit $T_RC" "$T_ERR" ;;
	esac
}
fail wrong-body "a wrong body is refused, naming the URL and both hashes" \
	"$F/wrong-body/simple/big/$BIGWHL*sha256*but*was expected"
fail lying-length "a lying Content-Length ends in a clear error" "$BIGWHL"
fail short-length "a short Content-Length ends in a clear error" "$BIGSIZE"
fail endless "an endless body stops at the locked size" "more than the $BIGSIZE bytes"
fail redirect-loop "a redirect loop ends in a clear error" "more than 10 redirects"
fail status/404 "a missing file is named" "no such file (HTTP 404)"
fail status/403 "a forbidden download says forbidden" "HTTP 403 forbidden"
fail status/401 "a download that needs credentials names ~/.netrc" "HTTP 401*~/.netrc"
# pages: only 401 asks for credentials
for st in 401 403; do
	reset
	mk "p$st" "$F/status/$st/simple"
	t_run "$EM" plan -f "$T_TMP/p$st/matrix.ini"
	case $st:$T_RC:$T_ERR in
	401:1:*"HTTP 401"*"credentials"*"~/.netrc"*) t_pass "a 401 page asks for credentials in ~/.netrc" ;;
	403:1:*netrc* | 403:1:*credentials*) t_fail "a 403 page must not ask for credentials" "$T_ERR" ;;
	403:1:*"HTTP 403 forbidden"*) t_pass "a 403 page says forbidden" ;;
	*) t_fail "HTTP $st page" "exit $T_RC" "$T_ERR" ;;
	esac
done

reset
mk garbage "$F/garbage/simple"
t_run "$EM" plan -f "$T_TMP/garbage/matrix.ini"
case $T_RC:$T_ERR in
1:*"$F/garbage/simple/hello/"*"not an index page"*) t_pass "a 10 MB page of garbage ends in a clear error" ;;
*) t_fail "garbage page" "exit $T_RC" "$T_ERR" ;;
esac
reset
mk loop "$F/redirect-loop/simple"
t_run "$EM" plan -f "$T_TMP/loop/matrix.ini"
case $T_RC:$T_ERR in
1:*"redirects"*) t_pass "a redirect loop on a page ends in a clear error" ;;
*) t_fail "page redirect loop" "exit $T_RC" "$T_ERR" ;;
esac

# ---- credentials: from the URL or ~/.netrc, never shown or stored ----
reset
mk auth "http://u:s3cret@127.0.0.1:$HTTPD_FAULT_PORT/auth/u:s3cret/simple"
t_run "$EM" apply -f "$T_TMP/auth/matrix.ini"
# (the fault server's path holds "u:s3cret/" itself: look for "s3cret@")
if [ "$T_RC" = 0 ] && ! grep -rq s3cret@ "$T_TMP/auth/pylock.a.toml" "$T_TMP/auth/cache" "$T_TMP/auth/a" &&
	! printf '%s%s' "$T_OUT" "$T_ERR" | grep -q s3cret@; then
	t_pass "credentials in the index URL work and appear in no lock, page or output"
else
	t_fail "credentials in the URL" "exit $T_RC" "$T_OUT" "$T_ERR" "$(grep -rl s3cret@ "$T_TMP/auth" | grep -v matrix.ini)"
fi
mk auth-bad "http://u:wrong@127.0.0.1:$HTTPD_FAULT_PORT/auth/u:s3cret/simple"
t_run "$EM" plan -f "$T_TMP/auth-bad/matrix.ini"
case $T_RC:$T_ERR in
*wrong*) t_fail "a wrong password is never printed" "$T_ERR" ;;
1:*"HTTP 401"*) t_pass "a refused password: a clear error without the password" ;;
*) t_fail "refused credentials" "exit $T_RC" "$T_ERR" ;;
esac
mkdir -p "$T_TMP/home"
printf 'machine 127.0.0.1\nlogin u\npassword s3cret\n' >"$T_TMP/home/.netrc"
chmod 600 "$T_TMP/home/.netrc"
mk netrc "$F/auth/u:s3cret/simple"
t_run env HOME="$T_TMP/home" "$EM" apply -f "$T_TMP/netrc/matrix.ini"
[ "$T_RC" = 0 ] && t_pass "credentials from ~/.netrc" || t_fail "netrc" "exit $T_RC" "$T_ERR"

# ---- two applies sharing one cache: each file downloaded once ----
reset
CACHE="$T_TMP/shared-cache"
mk one "$F/slow/simple" "hello big"
mk two "$F/slow/simple" "hello big"
unset CACHE
"$EM" plan -f "$T_TMP/one/matrix.ini" >/dev/null 2>&1
cp "$T_TMP/one/pylock.a.toml" "$T_TMP/two/"
reset
"$EM" -q apply --frozen -f "$T_TMP/one/matrix.ini" >"$T_TMP/one.out" 2>&1 &
p1=$!
"$EM" -q apply --frozen -f "$T_TMP/two/matrix.ini" >"$T_TMP/two.out" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
n=$(stats "/slow/simple/big/$BIGWHL")
if [ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$n" = 1 ]; then
	t_pass "two applies at once on one cache both succeed; the wheel was downloaded once"
else
	t_fail "concurrent applies" "exit $r1 and $r2, $n downloads" "$(cat "$T_TMP/one.out" "$T_TMP/two.out")"
fi

# ---- Ctrl-C keeps the partial download; the next apply resumes it ----
reset
mk intr "$F/slow/simple" big
"$EM" plan -f "$T_TMP/intr/matrix.ini" >/dev/null 2>&1
reset
"$EM" -q apply --frozen -f "$T_TMP/intr/matrix.ini" >"$T_TMP/intr.out" 2>&1 &
pid=$!
i=0
while [ $i -lt 50 ] && ! find "$T_TMP/intr/cache/wheels" -name '*.part' -size +8k 2>/dev/null | grep -q .; do
	sleep 0.1
	i=$((i + 1))
done
kill -INT $pid
wait $pid
rc=$?
part=$(find "$T_TMP/intr/cache/wheels" -name '*.part' 2>/dev/null)
if [ "$rc" = 130 ] && [ -n "$part" ] && [ ! -d "$T_TMP/intr/a/.venv" ]; then
	t_pass "Ctrl-C: exit 130, the partial download kept, no environment made"
else
	t_fail "Ctrl-C" "exit $rc, part '$part'" "$(cat "$T_TMP/intr.out")"
fi
sed -i "s|$F/slow/simple/|$F/simple/|" "$T_TMP/intr/pylock.a.toml"
reset
t_run "$EM" apply --frozen -f "$T_TMP/intr/matrix.ini"
if [ "$T_RC" = 0 ] && grep -q "^GET /simple/big/$BIGWHL range=bytes=[1-9][0-9]*- " "$ST/fault.log"; then
	t_pass "the next apply resumes it with a Range request"
else
	t_fail "resume after Ctrl-C" "exit $T_RC" "$T_ERR" "$(cat "$ST/fault.log")"
fi

# ---- mirrors: a file its own server cannot give comes from a mirror ----
reset
mk failover "$F/simple" big
"$EM" plan -f "$T_TMP/failover/matrix.ini" >/dev/null 2>&1
sed -i "s|$F/simple/|$F/status/503/simple/|" "$T_TMP/failover/pylock.a.toml"
sed -i "s|^\[matrix\]\$|[matrix]\nmirrors = $F/status/503/simple $F/drop-once/simple|" "$T_TMP/failover/matrix.ini"
reset
t_run env ENVMATRIX_HTTP_RETRIES=1 "$EM" apply --frozen -f "$T_TMP/failover/matrix.ini"
if [ "$T_RC" = 0 ] && grep -q "^GET /status/503/simple/big/$BIGWHL .*status=503" "$ST/fault.log" &&
	grep -q "^GET /drop-once/simple/big/$BIGWHL .*status=20[06]" "$ST/fault.log"; then
	t_pass "mirrors: after its own server fails, the file comes from the mirror (resumed there)"
else
	t_fail "mirror failover" "exit $T_RC" "$T_ERR" "$(cat "$ST/fault.log")"
fi

# ---- Ctrl-C while planning: exit 130 at once, no lock written ----
reset
mk intr-plan "$F/stall-once/simple"
ENVMATRIX_HTTP_STALL_S=60 "$EM" plan -f "$T_TMP/intr-plan/matrix.ini" >"$T_TMP/intr-plan.out" 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
if [ "$rc" = 130 ] && [ ! -f "$T_TMP/intr-plan/pylock.a.toml" ] &&
	grep -q "interrupted" "$T_TMP/intr-plan.out"; then
	t_pass "Ctrl-C during a stalled page: plan stops at once, exit 130, no lock"
else
	t_fail "plan Ctrl-C" "exit $rc" "$(cat "$T_TMP/intr-plan.out")"
fi

# ---- nginx: HTTPS with a test CA, PEP 691 JSON ----
if ! httpd_have_nginx; then
	t_skip "HTTPS with a test CA, PEP 691 JSON (nginx)" "nginx is not installed (apt-get install nginx)"
elif ! httpd_nginx_start "$SRV" "$ST/nginx" 2>"$T_TMP/nginx.err"; then
	t_fail "start nginx" "$(cat "$T_TMP/nginx.err")"
else
	S="https://127.0.0.1:$HTTPD_HTTPS_PORT"
	mk tls "$S/simple" "hello big"
	t_run "$EM" plan -f "$T_TMP/tls/matrix.ini"
	case $T_RC:$T_ERR in
	1:*"$S/simple/hello/"*) t_pass "https with an unknown CA is refused, naming the URL" ;;
	*) t_fail "TLS verification" "exit $T_RC" "$T_ERR" ;;
	esac
	t_run env SSL_CERT_FILE="$HTTPD_CA" "$EM" apply -f "$T_TMP/tls/matrix.ini"
	[ "$T_RC" = 0 ] && t_pass "https with SSL_CERT_FILE naming the test CA" ||
		t_fail "SSL_CERT_FILE" "exit $T_RC" "$T_ERR"
	mk tls2 "$S/simple" "hello big"
	sed -i "s|^\[matrix\]\$|[matrix]\nca-file = $HTTPD_CA|" "$T_TMP/tls2/matrix.ini"
	t_run "$EM" apply -f "$T_TMP/tls2/matrix.ini"
	[ "$T_RC" = 0 ] && t_pass "https with ca-file in the matrix" || t_fail "ca-file" "exit $T_RC" "$T_ERR"
	if grep -q 'accept="application/vnd.pypi.simple.v1+json' "$ST/nginx/access.log" &&
		grep -q '"GET /simple/hello/ HTTP/[12.]*" 200' "$ST/nginx/access.log"; then
		t_pass "pages are asked for as PEP 691 JSON"
	else
		t_fail "PEP 691 negotiation" "$(cat "$ST/nginx/access.log")"
	fi
	mk nginx-http "http://127.0.0.1:$HTTPD_HTTP_PORT/simple" "hello big"
	t_run "$EM" apply -f "$T_TMP/nginx-http/matrix.ini"
	[ "$T_RC" = 0 ] && t_pass "plain http from nginx" || t_fail "nginx http" "exit $T_RC" "$T_ERR"
	httpd_nginx_stop "$ST/nginx"
fi

t_done
