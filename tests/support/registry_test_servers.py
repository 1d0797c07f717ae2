#!/usr/bin/env python3
"""Test-only servers for the registry integration tests (Python 3 standard library only; Debian 12
ships python3). Never used by docker-envs itself.

  token  --port-file F --key KEY.pem --kid KID --issuer I --users alice:pw[,bob:pw2] --log FILE
      A Docker token-auth service: GET /token?service=&scope=... with optional Basic auth issues an
      RS256 JWT (signed with `openssl dgst`) granting users pull,push and anonymous callers pull.
      Wrong credentials get 401. Each request is logged (without credentials) to FILE.

  proxy  --port-file F --upstream PORT --every N --log FILE
      A reverse proxy to 127.0.0.1:PORT that injects a fault into every Nth request, cycling through:
      500, 429 with Retry-After: 1, and a dropped connection (mid-body for blob downloads).

Each binds port 0 on 127.0.0.1 (the kernel picks a free port, so two tests cannot race for one)
and writes the port to the --port-file once it accepts connections (temp + rename: a reader never
sees half a number).
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, line):
        with self.lock, open(self.path, "a") as f:
            f.write(line + "\n")


def token_server(args):
    users = dict(u.split(":", 1) for u in args.users.split(",") if u)
    log = Log(args.log)

    def sign(payload: bytes) -> bytes:
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=payload,
                              capture_output=True, check=True).stdout

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                if users.get(name) != pw:
                    log.write(f"token user={name} result=401")
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                user = name
            access = []
            for scope in q.get("scope", []):
                typ, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else (None, None, None)
                if typ != "repository":
                    continue
                wanted = actions.split(",")
                allowed = ["pull", "push"] if user else ["pull"]
                access.append({"type": typ, "name": name, "actions": [a for a in wanted if a in allowed]})
            now = int(time.time())
            header = {"typ": "JWT", "alg": "RS256", "kid": args.kid}
            claims = {"iss": args.issuer, "sub": user or "", "aud": q.get("service", [""])[0],
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
                      "access": access}
            signing_input = (b64url(json.dumps(header).encode()) + "." +
                             b64url(json.dumps(claims).encode())).encode()
            token = signing_input.decode() + "." + b64url(sign(signing_input))
            log.write(f"token user={user or '-'} scopes={' '.join(sorted(q.get('scope', [])))} result=200")
            body = json.dumps({"token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    serve(args.port_file, Handler)


def proxy_server(args):
    log = Log(args.log)
    counter = {"n": 0}
    lock = threading.Lock()
    hop = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
           "proxy-authorization", "proxy-authenticate"}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def handle_any(self):
            with lock:
                counter["n"] += 1
                n = counter["n"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = None
            if args.every and n % args.every == 0:
                fault = ["500", "429", "drop"][(n // args.every - 1) % 3]
            log.write(f"{n} {self.command} {self.path} fault={fault or '-'}")
            if fault == "500" or fault == "429":
                self.send_response(int(fault))
                if fault == "429":
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            is_blob_get = self.command == "GET" and "/blobs/sha256:" in self.path
            if fault == "drop" and not is_blob_get:
                self.close_connection = True
                return
            up = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
            up.request(self.command, self.path, body=body, headers=headers)
            r = up.getresponse()
            data = r.read() if self.command != "HEAD" else b""
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in hop:
                    self.send_header(k, v)
            self.end_headers()
            if fault == "drop":
                # Half the body, then the connection goes away.
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)
            up.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    serve(args.port_file, Handler)


def serve(port_file, handler):
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), handler)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(tmp, port_file)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("token")
    t.add_argument("--port-file", required=True)
    t.add_argument("--key", required=True)
    t.add_argument("--kid", required=True)
    t.add_argument("--issuer", required=True)
    t.add_argument("--users", default="")
    t.add_argument("--log", required=True)
    x = sub.add_parser("proxy")
    x.add_argument("--port-file", required=True)
    x.add_argument("--upstream", type=int, required=True)
    x.add_argument("--every", type=int, default=4)
    x.add_argument("--log", required=True)
    args = p.parse_args()
    (token_server if args.mode == "token" else proxy_server)(args)


if __name__ == "__main__":
    sys.exit(main())
