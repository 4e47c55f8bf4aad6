#!/usr/bin/env python3
"""faultserver.py - a fault-injecting static HTTP/1.1 server for the tests.

usage: python3 tests/tools/faultserver.py --root DIR --port-file FILE
                                          [--log FILE] [--watch-pid PID]

Binds 127.0.0.1 on a free port, writes the port number to FILE (temp file,
then rename) once it listens, and serves the files under DIR.  Standard
library only; prints nothing to stdout; errors go to stderr.  Exits on
SIGTERM or SIGINT, and when --watch-pid names a process that has gone.

Plain paths: files with Content-Length, ETag (quoted, from sha256),
Last-Modified, Accept-Ranges: bytes; one "bytes=" range per request (a-b,
a-, -N) answered 206 with Content-Range, or 416 with "bytes */SIZE" when
unsatisfiable; several ranges or a malformed header get the whole file
(200); If-Range (strong ETag or the exact Last-Modified date);
If-None-Match (precedence) / If-Modified-Since answered 304.  A directory without a
trailing slash is redirected (301) to it with one.  A path ending in "/"
serves index.html there, or index.json as application/vnd.pypi.simple.v1+json
when the Accept header prefers that type (PEP 691: its q > 0 and not below
that of the HTML types, or no index.html); the HTML is labelled
application/vnd.pypi.simple.v1+html when Accept asks for that type, else
text/html.  Keep-alive for every normal response.

Fault prefixes, each one or two leading path segments, removed before the
file is looked up.  They may be chained (/auth/u:p/503-once/x.whl): auth,
status, the status faults, redirect-loop, endless and garbage act in the
order given; then the first of drop-*/stall-once/lying-/short-length picks
the body, combined with wrong-body, slow and no-range.  "Half" is
ceil(n / 2) of the n bytes the response announces; "shut down" is a TCP
FIN (shutdown(SHUT_RDWR)) right after those bytes, no RST.
  /drop-once/P     first GET of the path: headers with the full
                   Content-Length (200, or 206 for a Range), half the
                   body, then the socket is shut down; later requests
                   normal
  /drop-always/P   every GET: the same, of whatever was asked (Range
                   honoured, ceil(half) of the range sent), so resuming
                   clients progress
  /503-once/P      first request 503, then normal
  /429-once/P      first request 429 with Retry-After: 1, then normal
  /500-twice/P     first two requests 500, then normal
  /stall-once/P    first GET: headers and the first min(1024, n // 2) bytes,
                   then silence for STALL_SECONDS (120) or until the client
                   closes; later requests normal
  /wrong-body/P    the file with every byte XOR 0xFF (same length, headers
                   as for the real file)
  /lying-length/P  200, Content-Length = real size + 1024, the real body,
                   then the connection is shut down (Range ignored)
  /short-length/P  200, Content-Length = real size // 2, the whole body
                   written, Connection: close (Range ignored)
  /endless/P       200, no Content-Length, Connection: close, random bytes
                   until the client goes away (any P)
  /garbage/P       200 text/html, Content-Length 10485760, random bytes
                   (any P)
  /redirect-loop/P 302 with Location: the same path, forever (any P)
  /no-range/P      Range ignored, always 200 with the whole file,
                   Accept-Ranges: none
  /status/NNN/P    always status NNN with a short text body (any P; NNN
                   below 200 answers 400)
  /auth/USER:PASS/P  401 with WWW-Authenticate: Basic unless the request
                   carries Basic credentials USER:PASS; then normal
  /slow/P          the file at SLOW_RATE (64 KiB/s), in 8 KiB pieces
"once"/"twice" state is kept per full request path (prefixes included, the
query ignored).  Status faults (503-once, 429-once, 500-twice) count GET
and HEAD; body faults (drop-once, stall-once) count only GET.

Control paths: GET /_stats -> JSON {full path: requests}, every method and
status counted (control paths excepted); POST /_reset -> clears the counts
and the fault state.

--log FILE: one line per response:
  METHOD PATH range=RANGE|- auth=yes|no status=NNN
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse

STALL_SECONDS = 120
SLOW_RATE = 64 * 1024
SLOW_PIECE = 8 * 1024
GARBAGE_SIZE = 10 * 1024 * 1024
LYING_EXTRA = 1024
CHUNK = 64 * 1024

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"

STATUS_ONCE = {"503-once": (503, 1), "429-once": (429, 1), "500-twice": (500, 2)}
PLAIN = {"drop-once", "drop-always", "stall-once", "wrong-body",
         "lying-length", "short-length", "endless", "garbage",
         "redirect-loop", "no-range", "slow"}
WITH_ARG = {"status", "auth"}

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
    ".whl": "application/octet-stream",
    ".metadata": "application/octet-stream",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".zip": "application/zip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".zst": "application/zstd",
}

INVERT = bytes(255 - i for i in range(256))


class State:
    """Counts and fault state, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stats = {}
        self.hits = {}
        self.etags = {}
        self._random = None

    def count(self, path):
        with self.lock:
            self.stats[path] = self.stats.get(path, 0) + 1

    def hit(self, key):
        """Increment the fault counter KEY; return its new value."""
        with self.lock:
            n = self.hits.get(key, 0) + 1
            self.hits[key] = n
            return n

    def snapshot(self):
        with self.lock:
            return dict(self.stats)

    def reset(self):
        with self.lock:
            self.stats.clear()
            self.hits.clear()

    def random_block(self):
        with self.lock:
            if self._random is None:
                self._random = os.urandom(1024 * 1024)
            return self._random

    def etag(self, path, st):
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        with self.lock:
            tag = self.etags.get(key)
        if tag is None:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            tag = '"sha256-%s"' % h.hexdigest()
            with self.lock:
                self.etags[key] = tag
        return tag


def parse_accept(header):
    """Return {media type: q} from an Accept header."""
    out = {}
    for part in (header or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        mtype = fields[0].lower()
        if not mtype:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        out[mtype] = max(q, out.get(mtype, 0.0))
    return out


def accept_q(acc, mtype):
    if mtype in acc:
        return acc[mtype]
    major = mtype.split("/")[0] + "/*"
    if major in acc:
        return acc[major]
    return acc.get("*/*", 0.0)


def parse_range(header, size):
    """Return None (ignore: serve 200), 'bad' (416) or (first, last)."""
    if not header:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes="):
        return None
    spec = header[6:].strip()
    if "," in spec:
        return None
    first, dash, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if not dash:
        return None
    try:
        if first == "":
            if not last.isdigit():
                return None
            n = int(last)
            if n == 0 or size == 0:
                return "bad"
            return (max(0, size - n), size - 1)
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        a = int(first)
        b = int(last) if last else size - 1
    except ValueError:
        return None
    if a >= size:
        return "bad"
    if b < a:
        return None
    return (a, min(b, size - 1))


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def parse_http_date(value):
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    try:
        return dt.timestamp()
    except (OverflowError, ValueError):
        return None


class ClientGone(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def version_string(self):
        return "faultserver/1"

    # ---- plumbing ----

    def log_message(self, format, *args):  # noqa: A002 - base class name
        pass

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.server.log_request_line(self, code)

    def _headers(self, code, headers, length=None, close=False):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _simple(self, code, text, headers=(), close=False):
        body = b"" if code < 200 or code in (204, 304) else (text + "\n").encode()
        hdrs = list(headers)
        if body:
            hdrs.append(("Content-Type", "text/plain; charset=utf-8"))
        self._headers(code, hdrs, None if code < 200 or code in (204, 304)
                      else len(body), close)
        if self.command != "HEAD" and body:
            self._write(body)

    def _write(self, data):
        try:
            self.wfile.write(data)
        except (OSError, ValueError) as e:
            self.close_connection = True
            raise ClientGone() from e

    def _cut(self):
        """Shut the connection down now, whatever the client expects."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except (OSError, ValueError):
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _client_gone(self, wait):
        """Wait up to WAIT seconds; True when the peer has closed."""
        try:
            r, _, _ = select.select([self.connection], [], [], wait)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _drain_body(self):
        n = self.headers.get("Content-Length")
        if n and n.isdigit():
            left = int(n)
            while left > 0:
                got = self.rfile.read(min(left, CHUNK))
                if not got:
                    break
                left -= len(got)

    # ---- methods ----

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._drain_body()
        if self._path_only() == "/_reset":
            self.server.state.reset()
            self._json({"reset": True})
        else:
            self.server.state.count(self._path_only())
            self._simple(405, "method not allowed", [("Allow", "GET, HEAD")])

    def _path_only(self):
        raw = urllib.parse.urlsplit(self.path).path
        return urllib.parse.unquote(raw)

    def _json(self, obj):
        body = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self._headers(200, [("Content-Type", "application/json"),
                            ("Cache-Control", "no-store")], len(body))
        if self.command != "HEAD":
            self._write(body)

    def _dispatch(self):
        try:
            self._route()
        except ClientGone:
            self.close_connection = True
        except (ConnectionError, socket.timeout):
            self.close_connection = True

    def _route(self):
        path = self._path_only()
        if path == "/_stats":
            self._json(self.server.state.snapshot())
            return
        if path == "/_reset":
            self._simple(405, "use POST", [("Allow", "POST")])
            return
        self.server.state.count(path)

        segs = path.split("/")[1:]
        faults = []
        while segs:
            head = segs[0]
            if head in PLAIN or head in STATUS_ONCE:
                faults.append((head, None))
                segs = segs[1:]
            elif head in WITH_ARG and len(segs) >= 2:
                faults.append((head, segs[1]))
                segs = segs[2:]
            else:
                break
        rest = "/" + "/".join(segs)
        names = [f[0] for f in faults]
        state = self.server.state

        # gates, in the order given
        for name, arg in faults:
            if name == "auth":
                if not self._authorized(arg):
                    self._simple(401, "authentication required",
                                 [("WWW-Authenticate",
                                   'Basic realm="faultserver"')])
                    return
            elif name == "status":
                if not (arg.isdigit() and 100 <= int(arg) <= 599):
                    self._simple(400, "bad status %r" % arg)
                    return
                code = int(arg)
                if code == 101 or code < 200:
                    code = 400  # interim answers would confuse every client
                self._simple(code, "status %d" % code)
                return
            elif name in STATUS_ONCE:
                code, times = STATUS_ONCE[name]
                if state.hit((path, name)) <= times:
                    hdrs = [("Retry-After", "1")] if code == 429 else []
                    self._simple(code, "injected %d" % code, hdrs)
                    return
            elif name == "redirect-loop":
                target = urllib.parse.urlsplit(self.path)
                loc = target.path + ("?" + target.query if target.query else "")
                self._simple(302, "redirect loop", [("Location", loc)])
                return
            elif name == "endless":
                self._endless()
                return
            elif name == "garbage":
                self._garbage()
                return

        self._serve_file(path, rest, names)

    def _authorized(self, cred):
        want = urllib.parse.unquote(cred)
        got = self.headers.get("Authorization", "")
        scheme, _, token = got.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return decoded == want

    # ---- endless and garbage ----

    def _endless(self):
        self._headers(200, [("Content-Type", "application/octet-stream")],
                      None, close=True)
        if self.command == "HEAD":
            return
        block = self.server.state.random_block()
        while not self.server.stopping:
            self._write(block)

    def _garbage(self):
        self._headers(200, [("Content-Type", "text/html")], GARBAGE_SIZE)
        if self.command == "HEAD":
            return
        block = self.server.state.random_block()
        left = GARBAGE_SIZE
        while left > 0:
            piece = block[:min(left, len(block))]
            self._write(piece)
            left -= len(piece)

    # ---- files ----

    def _resolve(self, rest):
        """Return (file, content type, vary) or an int status."""
        root = self.server.root
        parts = [p for p in rest.split("/") if p not in ("", ".")]
        if any(p == ".." or "\0" in p for p in parts):
            return 404
        target = os.path.join(root, *parts) if parts else root
        real = os.path.realpath(target)
        if real != root and not real.startswith(root + os.sep):
            return 404
        if os.path.isdir(real):
            if not rest.endswith("/"):
                return 301
            return self._index(real)
        if rest.endswith("/") or not os.path.isfile(real):
            return 404
        ext = os.path.splitext(real)[1].lower()
        return real, TYPES.get(ext, "application/octet-stream"), False

    def _index(self, folder):
        html = os.path.join(folder, "index.html")
        jsn = os.path.join(folder, "index.json")
        acc = parse_accept(self.headers.get("Accept"))
        qj = acc.get(JSON_TYPE, 0.0)
        qh_simple = acc.get(HTML_TYPE, 0.0)
        qh = max(qh_simple, accept_q(acc, "text/html"))
        have_html = os.path.isfile(html)
        have_json = os.path.isfile(jsn)
        if have_json and qj > 0 and (qj >= qh or not have_html):
            return jsn, JSON_TYPE, True
        if have_html:
            if qh_simple > 0 and qh_simple >= accept_q(acc, "text/html"):
                return html, HTML_TYPE, True
            return html, "text/html; charset=utf-8", True
        return 404

    def _not_modified(self, etag, mtime):
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            bare = etag[2:] if etag.startswith("W/") else etag
            for t in tags:
                if t == "*" or (t[2:] if t.startswith("W/") else t) == bare:
                    return True
            return False
        ims = self.headers.get("If-Modified-Since")
        if ims:
            when = parse_http_date(ims)
            if when is not None and int(mtime) <= when:
                return True
        return False

    def _if_range_ok(self, etag, lastmod):
        ir = self.headers.get("If-Range")
        if ir is None:
            return True
        ir = ir.strip()
        if ir.startswith('"') or ir.startswith("W/"):
            return ir == etag  # strong comparison only
        return ir == lastmod

    def _serve_file(self, path, rest, names):
        res = self._resolve(rest)
        if res == 301:
            target = urllib.parse.urlsplit(self.path)
            loc = target.path + "/" + ("?" + target.query if target.query else "")
            self._simple(301, "moved", [("Location", loc)])
            return
        if isinstance(res, int):
            self._simple(res, "not found")
            return
        fpath, ctype, vary = res
        try:
            st = os.stat(fpath)
            etag = self.server.state.etag(fpath, st)
        except OSError:
            self._simple(404, "not found")
            return
        size = st.st_size
        lastmod = http_date(st.st_mtime)
        common = [("Content-Type", ctype), ("ETag", etag),
                  ("Last-Modified", lastmod)]
        if vary:
            common.append(("Vary", "Accept"))
        ignore_range = ("no-range" in names or "lying-length" in names
                        or "short-length" in names)
        common.append(("Accept-Ranges", "none" if ignore_range else "bytes"))

        if self._not_modified(etag, st.st_mtime):
            self._headers(304, common)
            return

        rng = None
        if not ignore_range and self._if_range_ok(etag, lastmod):
            rng = parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            self._simple(416, "range not satisfiable",
                         [("Content-Range", "bytes */%d" % size)])
            return
        if rng is None:
            code, first, length, hdrs = 200, 0, size, list(common)
        else:
            first, last = rng
            code, length = 206, last - first + 1
            hdrs = common + [("Content-Range",
                              "bytes %d-%d/%d" % (first, last, size))]

        get = self.command == "GET"
        state = self.server.state
        mode = None
        for name in names:
            if name == "drop-once" and get and state.hit((path, name)) == 1:
                mode = "drop"
            elif name == "drop-always" and get:
                mode = "drop"
            elif name == "stall-once" and get and state.hit((path, name)) == 1:
                mode = "stall"
            elif name in ("lying-length", "short-length"):
                mode = name
            if mode:
                break
        transform = INVERT if "wrong-body" in names else None
        slow = "slow" in names

        if mode == "lying-length":
            self._headers(code, hdrs, length + LYING_EXTRA)
            if get:
                self._send_range(fpath, first, length, transform, slow)
                self._cut()
            return
        if mode == "short-length":
            self._headers(code, hdrs, length // 2, close=True)
            if get:
                self._send_range(fpath, first, length, transform, slow)
                self._cut()
            return
        self._headers(code, hdrs, length)
        if not get:
            return
        if mode == "drop":
            self._send_range(fpath, first, (length + 1) // 2, transform, slow)
            self._cut()
        elif mode == "stall":
            self._send_range(fpath, first, min(1024, length // 2), transform,
                             False)
            try:
                self.wfile.flush()
            except (OSError, ValueError):
                pass
            deadline = time.monotonic() + STALL_SECONDS
            while not self.server.stopping:
                left = deadline - time.monotonic()
                if left <= 0 or self._client_gone(min(left, 0.5)):
                    break
            self._cut()
        else:
            self._send_range(fpath, first, length, transform, slow)

    def _send_range(self, fpath, first, length, transform, slow):
        with open(fpath, "rb") as f:
            f.seek(first)
            left = length
            piece = SLOW_PIECE if slow else CHUNK
            start = time.monotonic()
            sent = 0
            while left > 0:
                data = f.read(min(piece, left))
                if not data:
                    break  # the file shrank: the client sees a short body
                if transform is not None:
                    data = data.translate(transform)
                self._write(data)
                left -= len(data)
                sent += len(data)
                if slow:
                    due = start + sent / SLOW_RATE
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            if left > 0:
                self._cut()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, root, log):
        self.root = os.path.realpath(root)
        self.state = State()
        self.stopping = False
        self.log_lock = threading.Lock()
        self.log = log
        super().__init__(("127.0.0.1", 0), Handler)

    def log_request_line(self, handler, code):
        if self.log is None:
            return
        line = "%s %s range=%s auth=%s status=%d\n" % (
            handler.command or "-",
            (handler.path or "-").replace(" ", "%20"),
            (handler.headers.get("Range") if handler.headers else None) or "-",
            "yes" if handler.headers and handler.headers.get("Authorization")
            else "no",
            code)
        with self.log_lock:
            try:
                self.log.write(line)
                self.log.flush()
            except (OSError, ValueError):
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, ClientGone)):
            return
        if self.stopping:
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="fault-injecting HTTP server")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--watch-pid", type=int,
                    help="exit when this process no longer exists")
    args = ap.parse_args()
    if not os.path.isdir(args.root):
        print("faultserver: no such directory: %s" % args.root, file=sys.stderr)
        return 2

    log = open(args.log, "a", encoding="utf-8") if args.log else None
    try:
        server = Server(args.root, log)
    except OSError as e:
        print("faultserver: cannot listen: %s" % e, file=sys.stderr)
        return 1

    def stop(signum, frame):
        server.stopping = True
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    except (AttributeError, ValueError):
        pass

    if args.watch_pid:
        def watch():
            while True:
                time.sleep(0.5)
                try:
                    os.kill(args.watch_pid, 0)
                except ProcessLookupError:
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                except PermissionError:
                    pass
        threading.Thread(target=watch, daemon=True).start()

    port = server.server_address[1]
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    try:
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    except OSError as e:
        print("faultserver: cannot write the port file: %s" % e, file=sys.stderr)
        return 1

    rc = 0
    try:
        server.serve_forever(poll_interval=0.25)
    except SystemExit as e:
        rc = e.code or 0
    finally:
        server.stopping = True
        try:
            server.socket.close()
        except OSError:
            pass
        if log is not None:
            with server.log_lock:
                try:
                    log.flush()
                except (OSError, ValueError):
                    pass
        sys.stderr.flush()
        # handler threads may be asleep (stall-once, slow): do not wait
        os._exit(rc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
