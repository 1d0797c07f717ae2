#!/usr/bin/env python3
"""A conda channel served over HTTP on loopback, for the integration tests (Python 3 standard
library only). Never used by docker-envs itself.

  channel_server.py --root DIR --port-file FILE --log FILE [--port P] [--token T]
                    [--basic USER:PASSWORD] [--fail-every N] [--gzip] [--slow TEXT:SECONDS]
                    [--trickle BYTES_PER_S]

Serves the files under DIR (a channel: SUBDIR/repodata.json, SUBDIR/*.conda, ...) at
http://127.0.0.1:PORT/ with GET and HEAD. Port 0 (the default) picks a free port; the port is
written to --port-file once the server listens.

- Validators: every file has an ETag (a hash of its size, mtime and inode) and a Last-Modified
  date; a GET with a matching If-None-Match, or an If-Modified-Since not older than the file, gets
  304 Not Modified with no body. Rewriting a file changes its ETag.
- --token T: the channel lives under /t/T/ (as anaconda.org's private channels); any other path
  gets 401 (no token) or 403 (wrong token).
- --basic USER:PASSWORD: requests without those Basic credentials get 401 with WWW-Authenticate.
- --fail-every N: every Nth request gets a 500 (to exercise retries).
- --slow TEXT:SECONDS: a GET whose path contains TEXT waits SECONDS before it is answered, after
  logging "WAIT PATH" (so a test knows a client is waiting on it).
- --gzip: repodata.json is sent gzip-encoded to clients that send Accept-Encoding: gzip.
- --trickle BYTES_PER_S: package files (anything but .json) are sent slowly, a tenth of that
  every 0.1 s (a slow download for the progress tests).
- A path ending in `/` serves the directory's index.html, and `.html` files are text/html: a
  PEP 503 simple index (tests/pypi/make_test_index.py) can be served from DIR as well.
- The log gets one line per request: METHOD PATH STATUS BYTES, with the token replaced by
  <token> and no credentials, so tests can count requests and check what was asked.
"""
import argparse
import base64
import email.utils
import gzip
import hashlib
import http.server
import os
import socketserver
import sys
import threading
import time
import urllib.parse


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: more clients connecting at once (parallel fetches)
    # overflow it on a busy machine, and the dropped SYNs are retried after a whole second.
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token")
    ap.add_argument("--basic")
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--slow")
    ap.add_argument("--trickle", type=int, default=0)
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    lock = threading.Lock()
    counter = [0]

    def log(line):
        with lock, open(args.log, "a") as f:
            f.write(line + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The headers and the body go out in two writes: with Nagle's algorithm the body waited
        # for the client's delayed ACK of the headers, 40 ms per request on keep-alive
        # connections (real servers set TCP_NODELAY too).
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def shown_path(self):
            p = self.path
            if args.token:
                p = p.replace("/t/" + args.token + "/", "/t/<token>/")
            return p

        def reply(self, status, body=b"", headers=(), send_body=True, slow=False):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and body and slow:
                step = max(1, args.trickle // 10)
                for start in range(0, len(body), step):
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
                    time.sleep(0.1)
            elif send_body and body:
                self.wfile.write(body)
            log(f"{self.command} {self.shown_path()} {status} {len(body) if send_body else 0}")

        def serve(self, send_body):
            with lock:
                counter[0] += 1
                n = counter[0]
            if args.fail_every and n % args.fail_every == 0:
                return self.reply(500, b"injected failure\n", send_body=send_body)
            if args.basic:
                want = "Basic " + base64.b64encode(args.basic.encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.reply(401, b"credentials required\n",
                                      [("WWW-Authenticate", 'Basic realm="channel"')], send_body)
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if args.token:
                prefix = "/t/" + args.token + "/"
                if not path.startswith(prefix):
                    status = 403 if path.startswith("/t/") else 401
                    return self.reply(status, b"token required\n", send_body=send_body)
                path = "/" + path[len(prefix):]
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if path.endswith("/") and os.path.isfile(os.path.join(full, "index.html")):
                full = os.path.join(full, "index.html")  # a PEP 503 project page
            if not (full == root or full.startswith(root + os.sep)) or not os.path.isfile(full):
                return self.reply(404, b"not found\n", send_body=send_body)
            st = os.stat(full)
            etag = '"' + hashlib.sha256(
                f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()[:32] + '"'
            modified = email.utils.formatdate(int(st.st_mtime), usegmt=True)
            validators = [("ETag", etag), ("Last-Modified", modified),
                          ("Cache-Control", "public, max-age=0")]
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None:
                if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                    return self.reply(304, headers=validators, send_body=False)
            elif ims is not None:
                try:
                    since = email.utils.parsedate_to_datetime(ims).timestamp()
                    if int(st.st_mtime) <= since:
                        return self.reply(304, headers=validators, send_body=False)
                except (TypeError, ValueError):
                    pass
            if args.slow and send_body:
                text, seconds = args.slow.rsplit(":", 1)
                if text in path:
                    log(f"WAIT {path}")
                    time.sleep(float(seconds))
            with open(full, "rb") as f:
                body = f.read()
            headers = list(validators)
            if full.endswith(".json"):
                headers.append(("Content-Type", "application/json"))
            elif full.endswith(".html"):
                headers.append(("Content-Type", "text/html"))
            else:
                headers.append(("Content-Type", "application/octet-stream"))
            if (args.gzip and full.endswith("repodata.json")
                    and "gzip" in self.headers.get("Accept-Encoding", "")):
                body = gzip.compress(body, mtime=0)
                headers.append(("Content-Encoding", "gzip"))
            self.reply(200, body, headers, send_body,
                       slow=bool(args.trickle) and not full.endswith(".json"))

        def do_GET(self):
            self.serve(True)

        def do_HEAD(self):
            self.serve(False)

    server = Server(("127.0.0.1", args.port), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
