#!/usr/bin/python3
"""Neutron stand-in for the nova tests: GET /v2.0/<collection> answers an empty list.

nova-api's GET /servers/ID lists the instance's ports and security groups through
Neutron; nothing else of Neutron is needed by the state-sync checks."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = [p for p in urlparse(self.path).path.split("/") if p]
        if not parts:
            self.reply(200, {"versions": [{"id": "v2.0", "status": "CURRENT"}]})
        elif len(parts) == 2 and parts[0] == "v2.0":
            self.reply(200, {parts[1].removesuffix(".json").replace("-", "_"): []})
        else:
            self.reply(404, {"NeutronError": {"type": "NotFound", "message": self.path}})

    def log_message(self, fmt, *args):
        pass


ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
