# shellcheck shell=sh disable=SC2034 # HTTPD_* are set for the sourcing script
# tests/tools/httpd.sh - local HTTP(S) servers for the network tests; POSIX
# sh, meant to be sourced (tests/cli/*.sh run under dash):
#
#     . "$(dirname "$0")/../tools/httpd.sh"
#
# Everything listens on 127.0.0.1 only, on free ports, and runs as the
# current user (root or not).  Stop every server you start, in your EXIT
# trap too.  As a safety net, both stop by themselves within about 0.5 s
# once the shell that started them has gone (a watchdog process for nginx,
# --watch-pid for the fault server), but do not rely on it.
#
# httpd_have_nginx
#     Status 0 when an nginx binary is available (PATH, /usr/sbin/nginx);
#     sets HTTPD_NGINX to its path.  Debian package: nginx.
#
# httpd_make_ca DIR
#     With openssl, create a test CA (DIR/ca.pem, DIR/ca.key; CA:TRUE,
#     keyCertSign) and a server certificate for 127.0.0.1 and localhost
#     signed by it (DIR/server.pem, DIR/server.key; subjectAltName
#     IP:127.0.0.1, DNS:localhost; extendedKeyUsage serverAuth).  EC P-256
#     keys; verified normally by OpenSSL/libcurl given --cacert DIR/ca.pem.
#
# httpd_nginx_start ROOT STATE_DIR
#     Start nginx serving ROOT over http://127.0.0.1:$HTTPD_HTTP_PORT/ and
#     https://127.0.0.1:$HTTPD_HTTPS_PORT/ (also https://localhost:PORT/);
#     the CA comes from httpd_make_ca STATE_DIR (made when STATE_DIR/ca.pem
#     is missing).  Config, pid, logs and temp folders all live in
#     STATE_DIR (nginx.conf, nginx.pid, error.log, access.log, tmp/).
#     A request for a folder (URL ending in "/") serves its index.json as
#     application/vnd.pypi.simple.v1+json when the Accept header contains
#     application/vnd.pypi.simple.v1+json and index.json exists, else
#     index.html as text/html (PEP 691; no q-value weighing, Vary: Accept).
#     A folder without the slash is redirected (301, relative Location).
#     .whl and .metadata are application/octet-stream; Range (206/416),
#     ETag, Last-Modified and 304 revalidation are nginx's own.
#     Sets HTTPD_HTTP_PORT, HTTPD_HTTPS_PORT, HTTPD_CA (STATE_DIR/ca.pem).
#     Returns when nginx answers; non-zero with a message on stderr when it
#     cannot start.  access.log lines: addr "request" status bytes
#     range="..." accept="...".
#
# httpd_nginx_stop STATE_DIR
#     Stop that nginx (master and workers) and its watchdog, and wait until
#     they are gone; SIGKILL after 5 s.  Status 0 also when none runs.
#
# httpd_fault_start ROOT STATE_DIR
#     Start tests/tools/faultserver.py on ROOT in the background (see the
#     top of that file for the fault prefixes: /drop-once/, /503-once/,
#     ...).  Files in STATE_DIR: fault.port, fault.pid, fault.log (one line
#     per request), fault.err (its stderr).  Sets HTTPD_FAULT_PORT; the
#     server is http://127.0.0.1:$HTTPD_FAULT_PORT/.  Non-zero with a
#     message on stderr when it cannot start.  The server is not a job of
#     the calling shell (a bare "wait" does not wait for it), and it exits
#     by itself within 0.5 s once that shell ($$) has gone.
#
# httpd_fault_stop STATE_DIR
#     Stop it (SIGTERM, SIGKILL after 5 s) and wait until it is gone.
#
# Environment: HTTPD_PYTHON (python3), HTTPD_FAULTSERVER (the path of
# faultserver.py; default: beside this file as seen from a tests/cli
# script, or tests/tools/faultserver.py from the repository root).
# Helpers and their scratch variables start with _httpd_.

httpd_have_nginx() {
	HTTPD_NGINX=$(command -v nginx 2>/dev/null) || HTTPD_NGINX=
	if [ -z "$HTTPD_NGINX" ]; then
		for _httpd_n in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
			if [ -x "$_httpd_n" ]; then
				HTTPD_NGINX=$_httpd_n
				break
			fi
		done
	fi
	[ -n "$HTTPD_NGINX" ]
}

# _httpd_alive PID: the process exists and is not a zombie
_httpd_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	_httpd_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_httpd_state" ] && [ "$_httpd_state" != Z ]
}

# _httpd_children PID: the ids of its child processes, one a line
_httpd_children() {
	if [ -d /proc/self ]; then
		cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
			pid = $1; s = $0; sub(/.*\) /, "", s); split(s, f, " ")
			if (f[2] == p) print pid }'
	elif command -v pgrep >/dev/null 2>&1; then
		pgrep -P "$1"
	fi
}

# _httpd_kill PID...: SIGTERM, wait up to 5 s, then SIGKILL and wait 5 s more
_httpd_kill() {
	for _httpd_p in "$@"; do
		kill -TERM "$_httpd_p" 2>/dev/null
	done
	for _httpd_sig in KILL -; do
		_httpd_i=0
		while [ "$_httpd_i" -lt 50 ]; do
			_httpd_left=
			for _httpd_p in "$@"; do
				if _httpd_alive "$_httpd_p"; then
					_httpd_left="$_httpd_left $_httpd_p"
				fi
			done
			[ -z "$_httpd_left" ] && return 0
			sleep 0.1
			_httpd_i=$((_httpd_i + 1))
		done
		[ "$_httpd_sig" = - ] && break
		for _httpd_p in $_httpd_left; do
			kill -KILL "$_httpd_p" 2>/dev/null
		done
	done
	echo "httpd: processes still running:$_httpd_left" >&2
	return 1
}

# _httpd_free_ports: two currently free TCP ports on 127.0.0.1
_httpd_free_ports() {
	"${HTTPD_PYTHON:-python3}" -c '
import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])
a.close(); b.close()'
}

# _httpd_wait_http PORT [https]: until something answers HTTP there (10 s)
_httpd_wait_http() {
	"${HTTPD_PYTHON:-python3}" -c '
import http.client, ssl, sys, time
port, tls = int(sys.argv[1]), len(sys.argv) > 2
end = time.monotonic() + 10
while True:
    try:
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("HEAD", "/")
        c.getresponse()
        c.close()
        sys.exit(0)
    except (OSError, http.client.HTTPException):
        if time.monotonic() > end:
            sys.exit(1)
        time.sleep(0.05)' "$@"
}

# _httpd_watch PID STATE: a watchdog (pid in STATE/nginx.watch.pid) that
# sends SIGTERM to PID once this shell ($$) has gone, and ends when PID ends
_httpd_watch() {
	(
		"${HTTPD_PYTHON:-python3}" -c '
import os, signal, sys, time
daemon, shell = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
while alive(daemon):
    if not alive(shell):
        os.kill(daemon, signal.SIGTERM)
        break
    time.sleep(0.5)
' "$1" $$ "httpd-watch:$2" </dev/null >/dev/null 2>&1 &
		echo $! >"$2/nginx.watch.pid"
	)
}

httpd_make_ca() {
	if [ -z "${1:-}" ]; then
		echo "usage: httpd_make_ca DIR" >&2
		return 2
	fi
	if ! command -v openssl >/dev/null 2>&1; then
		echo "httpd_make_ca: openssl is not installed" >&2
		return 1
	fi
	mkdir -p "$1" || return 1
	cat >"$1/ca.cnf" <<'EOF'
[req]
prompt = no
distinguished_name = dn
x509_extensions = v3_ca
[dn]
O = envmatrix tests
CN = envmatrix test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
	cat >"$1/server.cnf" <<'EOF'
[req]
prompt = no
distinguished_name = dn
[dn]
O = envmatrix tests
CN = localhost
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
	(
		umask 077
		cd "$1" &&
			openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -keyout ca.key -out ca.pem -days 3650 -config ca.cnf &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -keyout server.key -out server.csr -config server.cnf &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
				-CAcreateserial -CAserial ca.srl -days 825 \
				-extfile server.cnf -extensions v3_server -out server.pem &&
			chmod 644 ca.pem server.pem
	) >"$1/openssl.log" 2>&1
	_httpd_rc=$?
	if [ "$_httpd_rc" -ne 0 ]; then
		echo "httpd_make_ca: openssl failed:" >&2
		cat "$1/openssl.log" >&2
		return 1
	fi
	rm -f "$1/server.csr"
	return 0
}

# _httpd_nginx_conf STATE ROOT HTTP_PORT HTTPS_PORT
_httpd_nginx_conf() {
	if [ "$(id -u)" = 0 ]; then
		_httpd_user="user root;"
	else
		_httpd_user=
	fi
	cat >"$1/nginx.conf" <<EOF
# written by tests/tools/httpd.sh
$_httpd_user
daemon on;
master_process on;
worker_processes 1;
pid "$1/nginx.pid";
error_log "$1/error.log" warn;

events {
	worker_connections 512;
}

http {
	client_body_temp_path "$1/tmp/client_body";
	proxy_temp_path "$1/tmp/proxy";
	fastcgi_temp_path "$1/tmp/fastcgi";
	uwsgi_temp_path "$1/tmp/uwsgi";
	scgi_temp_path "$1/tmp/scgi";

	log_format httpd '\$remote_addr "\$request" \$status \$body_bytes_sent range="\$http_range" accept="\$http_accept"';
	access_log "$1/access.log" httpd;

	types {
		text/html html htm;
		application/json json;
		text/plain txt toml;
		application/octet-stream whl metadata bin;
		application/gzip gz tgz;
		application/zip zip;
	}
	default_type application/octet-stream;
	charset off;
	sendfile on;
	keepalive_timeout 30s;
	server_tokens off;

	map \$http_accept \$httpd_index {
		default index.html;
		"~*application/vnd\.pypi\.simple\.v1\+json" index.json;
	}

	server {
		listen 127.0.0.1:$3;
		listen 127.0.0.1:$4 ssl;
		server_name localhost 127.0.0.1;
		ssl_certificate "$1/server.pem";
		ssl_certificate_key "$1/server.key";
		root "$2";
		absolute_redirect off;
		index \$httpd_index index.html;

		location / {
		}
		location ~ /index\.json\$ {
			types { }
			default_type application/vnd.pypi.simple.v1+json;
			add_header Vary Accept;
		}
		location ~ /index\.html\$ {
			add_header Vary Accept;
		}
	}
}
EOF
}

httpd_nginx_start() {
	if [ -z "${1:-}" ] || [ -z "${2:-}" ]; then
		echo "usage: httpd_nginx_start ROOT STATE_DIR" >&2
		return 2
	fi
	if ! httpd_have_nginx; then
		echo "httpd_nginx_start: nginx is not installed" >&2
		return 1
	fi
	if [ ! -d "$1" ]; then
		echo "httpd_nginx_start: no such folder: $1" >&2
		return 1
	fi
	_httpd_root=$(cd "$1" && pwd) || return 1
	mkdir -p "$2/tmp" || return 1
	_httpd_st=$(cd "$2" && pwd) || return 1
	httpd_nginx_stop "$_httpd_st" || return 1
	if [ ! -f "$_httpd_st/ca.pem" ] || [ ! -f "$_httpd_st/server.pem" ] ||
		[ ! -f "$_httpd_st/server.key" ]; then
		httpd_make_ca "$_httpd_st" || return 1
	fi
	_httpd_try=0
	while [ "$_httpd_try" -lt 5 ]; do
		_httpd_try=$((_httpd_try + 1))
		_httpd_ports=$(_httpd_free_ports) || {
			echo "httpd_nginx_start: cannot pick free ports" >&2
			return 1
		}
		_httpd_p1=${_httpd_ports% *}
		_httpd_p2=${_httpd_ports#* }
		_httpd_nginx_conf "$_httpd_st" "$_httpd_root" "$_httpd_p1" "$_httpd_p2"
		rm -f "$_httpd_st/nginx.pid"
		if "$HTTPD_NGINX" -p "$_httpd_st" -e "$_httpd_st/error.log" \
			-c "$_httpd_st/nginx.conf" </dev/null >"$_httpd_st/start.log" 2>&1; then
			# the daemon writes its pid file after detaching
			_httpd_i=0
			while [ ! -s "$_httpd_st/nginx.pid" ] && [ "$_httpd_i" -lt 100 ]; do
				sleep 0.05
				_httpd_i=$((_httpd_i + 1))
			done
			if [ ! -s "$_httpd_st/nginx.pid" ]; then
				echo "httpd_nginx_start: nginx wrote no pid file" >&2
				cat "$_httpd_st/error.log" >&2 2>/dev/null
				return 1
			fi
			_httpd_watch "$(cat "$_httpd_st/nginx.pid")" "$_httpd_st"
			if _httpd_wait_http "$_httpd_p1" && _httpd_wait_http "$_httpd_p2" https; then
				HTTPD_HTTP_PORT=$_httpd_p1
				HTTPD_HTTPS_PORT=$_httpd_p2
				HTTPD_CA=$_httpd_st/ca.pem
				return 0
			fi
			echo "httpd_nginx_start: nginx does not answer on $_httpd_p1/$_httpd_p2" >&2
			cat "$_httpd_st/error.log" >&2 2>/dev/null
			httpd_nginx_stop "$_httpd_st"
			return 1
		fi
		grep -q 'Address already in use' "$_httpd_st/start.log" "$_httpd_st/error.log" 2>/dev/null ||
			break
	done
	echo "httpd_nginx_start: nginx failed to start:" >&2
	cat "$_httpd_st/start.log" >&2
	return 1
}

httpd_nginx_stop() {
	if [ -z "${1:-}" ]; then
		echo "usage: httpd_nginx_stop STATE_DIR" >&2
		return 2
	fi
	if [ -s "$1/nginx.watch.pid" ]; then
		_httpd_pid=$(cat "$1/nginx.watch.pid")
		case "$_httpd_pid" in
		'' | *[!0-9]*) ;;
		*)
			if _httpd_alive "$_httpd_pid" &&
				{ [ ! -r "/proc/$_httpd_pid/cmdline" ] ||
					tr '\0' ' ' <"/proc/$_httpd_pid/cmdline" | grep -q httpd-watch; }; then
				_httpd_kill "$_httpd_pid"
			fi
			;;
		esac
		rm -f "$1/nginx.watch.pid"
	fi
	[ -s "$1/nginx.pid" ] || return 0
	_httpd_pid=$(cat "$1/nginx.pid")
	case "$_httpd_pid" in
	'' | *[!0-9]*)
		rm -f "$1/nginx.pid"
		return 0
		;;
	esac
	# only a process running nginx (a stale pid file may name another)
	if _httpd_alive "$_httpd_pid" &&
		{ [ ! -r "/proc/$_httpd_pid/cmdline" ] ||
			tr '\0' ' ' <"/proc/$_httpd_pid/cmdline" | grep -q nginx; }; then
		# shellcheck disable=SC2046 # word splitting of the pid list is wanted
		_httpd_kill "$_httpd_pid" $(_httpd_children "$_httpd_pid") || return 1
	fi
	rm -f "$1/nginx.pid"
	return 0
}

_httpd_faultserver() {
	for _httpd_f in "${HTTPD_FAULTSERVER:-}" \
		"$(dirname "$0")/../tools/faultserver.py" tests/tools/faultserver.py; do
		if [ -n "$_httpd_f" ] && [ -f "$_httpd_f" ]; then
			echo "$(cd "$(dirname "$_httpd_f")" && pwd)/$(basename "$_httpd_f")"
			return 0
		fi
	done
	echo "httpd_fault_start: faultserver.py not found (set HTTPD_FAULTSERVER)" >&2
	return 1
}

httpd_fault_start() {
	if [ -z "${1:-}" ] || [ -z "${2:-}" ]; then
		echo "usage: httpd_fault_start ROOT STATE_DIR" >&2
		return 2
	fi
	if [ ! -d "$1" ]; then
		echo "httpd_fault_start: no such folder: $1" >&2
		return 1
	fi
	_httpd_script=$(_httpd_faultserver) || return 1
	mkdir -p "$2" || return 1
	httpd_fault_stop "$2" || return 1
	rm -f "$2/fault.port"
	rm -f "$2/fault.pid"
	# started from a subshell, so that it is no job of this shell (a bare
	# "wait" in the test does not wait for it); $$ is still this shell
	(
		"${HTTPD_PYTHON:-python3}" "$_httpd_script" --root "$1" \
			--port-file "$2/fault.port" --log "$2/fault.log" --watch-pid $$ \
			</dev/null >"$2/fault.err" 2>&1 &
		echo $! >"$2/fault.pid"
	)
	_httpd_pid=$(cat "$2/fault.pid" 2>/dev/null)
	if [ -z "$_httpd_pid" ]; then
		echo "httpd_fault_start: cannot start ${HTTPD_PYTHON:-python3}" >&2
		return 1
	fi
	_httpd_i=0
	while [ ! -s "$2/fault.port" ]; do
		if ! _httpd_alive "$_httpd_pid" || [ "$_httpd_i" -ge 200 ]; then
			echo "httpd_fault_start: faultserver.py did not start:" >&2
			cat "$2/fault.err" >&2
			httpd_fault_stop "$2"
			return 1
		fi
		sleep 0.05
		_httpd_i=$((_httpd_i + 1))
	done
	HTTPD_FAULT_PORT=$(cat "$2/fault.port")
	return 0
}

httpd_fault_stop() {
	if [ -z "${1:-}" ]; then
		echo "usage: httpd_fault_stop STATE_DIR" >&2
		return 2
	fi
	[ -s "$1/fault.pid" ] || return 0
	_httpd_pid=$(cat "$1/fault.pid")
	case "$_httpd_pid" in
	'' | *[!0-9]*) ;;
	*)
		if _httpd_alive "$_httpd_pid" &&
			{ [ ! -r "/proc/$_httpd_pid/cmdline" ] ||
				tr '\0' ' ' <"/proc/$_httpd_pid/cmdline" | grep -q faultserver; }; then
			_httpd_kill "$_httpd_pid" || return 1
		fi
		;;
	esac
	rm -f "$1/fault.pid" "$1/fault.port"
	return 0
}
