#!/usr/bin/env python3
"""SMTP capture server for the compose stack (never for production mail).

SMTP on 0.0.0.0:1025 accepts every message and keeps the last MAX_MESSAGES in memory. HTTP on 0.0.0.0:8025 answers
the part of Mailpit's API that deploy/compose-check.sh uses, so the check runs against either server:
  GET /api/v1/messages            {"total": n, "messages": [{"ID", "From": {...}, "To": [{...}], "Subject", "Created", "Size"}]}, newest first
  GET /api/v1/message/{ID}/raw    the message as received (RFC 5322)
"""
import asyncio
import collections
import datetime as dt
import email
import email.policy
import email.utils
import itertools
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.smtp import SMTP

MAX_MESSAGES = int(os.environ.get("MAX_MESSAGES", "1000"))
messages = collections.OrderedDict()
lock = threading.Lock()
ids = itertools.count(1)


def address(value):
    name, addr = email.utils.parseaddr(value or "")
    return {"Name": name, "Address": addr}


class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        summary = {
            "ID": str(next(ids)),
            "From": address(str(parsed.get("From", envelope.mail_from))),
            "To": [{"Name": "", "Address": a} for a in envelope.rcpt_tos],
            "Subject": str(parsed.get("Subject", "")),
            "Created": dt.datetime.now(dt.timezone.utc).isoformat(),
            "Size": len(raw),
        }
        with lock:
            messages[summary["ID"]] = (summary, raw)
            while len(messages) > MAX_MESSAGES:
                messages.popitem(last=False)
        print(json.dumps({"event": "accepted", "id": summary["ID"], "size": summary["Size"]}), flush=True)
        return "250 2.0.0 OK: queued"


class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/v1/messages":
            with lock:
                listed = [s for s, _ in reversed(messages.values())]
            self.answer(200, "application/json", json.dumps({"total": len(listed), "messages": listed}).encode())
        elif path.startswith("/api/v1/message/") and path.endswith("/raw"):
            with lock:
                found = messages.get(path[len("/api/v1/message/"):-len("/raw")])
            if found:
                self.answer(200, "text/plain; charset=utf-8", found[1])
            else:
                self.answer(404, "text/plain", b"not found")
        else:
            self.answer(404, "text/plain", b"not found")

    def answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), hostname="smtp-catcher"), host="0.0.0.0", port=1025)
    http = ThreadingHTTPServer(("0.0.0.0", 8025), Api)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    print("smtp-catcher: SMTP on 1025, HTTP on 8025", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
