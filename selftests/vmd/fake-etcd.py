#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# A fake etcd v3 gateway for etcd-test.sh: it answers vmd with garbage.
#   fake-etcd.py garbage PORTFILE   every answer is hostile
#   fake-etcd.py flaky PORTFILE     grant and put are answered as etcd 3.4
#                                   does, every keepalive with hostile text
# Listens on a free port of 127.0.0.1, writes the port to PORTFILE, serves
# until killed.
import http.server
import sys

HOSTILE = [
    b"x" * 200000,                                # longer than vmd takes
    b"",
    b"not json at all",
    b"\x00\x01\x02\xff\xfe binary",
    b'{"ID":',
    b'{"ID":{"x":[1,2]},"TTL":true}',
    b'{"result":{"ID":"1","TTL":"5"}}',          # another lease
    b'{"ID":"-1","TTL":"-5"}',
    b'{"ID":"99999999999999999999999","TTL":"1e9"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 300 + b"1" + b"}" * 300,
    b'{"header":{},"header":{}}',
    b'{"error":"\x1b[31mred\x07","code":"x"}',
    b'{"error":{"grpc_code":[5]}}',
]

mode = sys.argv[1]
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        if mode == "garbage":
            # From the first, one for each vmd started.
            self.answer(500 if count % 2 else 200, HOSTILE[count % len(HOSTILE)])
            count += 1
        elif self.path == "/v3/lease/grant":
            self.answer(200, b'{"header":{"revision":"1"},"ID":"7587861231285799685","TTL":"2"}')
        elif self.path in ("/v3/kv/put", "/v3/lease/revoke"):
            self.answer(200, b'{"header":{"revision":"2"}}')
        else:
            # From the last, one for each keepalive.
            count += 1
            self.answer(200, HOSTILE[-count % len(HOSTILE)])


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
