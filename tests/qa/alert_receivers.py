"""Real local receivers for the alert tests: an HTTP server on 127.0.0.1 that records every
request, and an SMTP server (aiosmtpd) that keeps every message. No mocks."""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the HTTP receiver got, and how it answers: ``statuses`` are the statuses of the
    next requests (then 200); while ``gate`` is clear a request waits before its body is read
    (the sender is stuck mid-send; a request whose sender dies is never recorded)."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0
    reply: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


def start_http_receiver() -> Receiver:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            rec = box["r"]
            if not rec.gate.is_set():
                rec.waiting += 1
                while not rec.gate.wait(0.05):
                    pass
            try:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            except OSError:
                return
            u = urllib.parse.urlsplit(self.path)
            status = rec.statuses.pop(0) if rec.statuses else 200
            if status == 200:
                rec.requests.append(Received(
                    u.path, dict(urllib.parse.parse_qsl(u.query)),
                    {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
            else:
                rec.requests.append(Received(u.path, {"failed": str(status)}, {}, body,
                                             time.monotonic()))
            out = json.dumps(rec.reply if status == 200 else {"error": "down"}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except OSError:  # the sender is gone (killed mid-request)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = Receiver(server)
    rec.gate.set()
    box["r"] = rec
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return rec


class SmtpBox:
    """An aiosmtpd server on 127.0.0.1 keeping the messages it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        self.messages: list[Any] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append((envelope.rcpt_tos,
                                     message_from_bytes(envelope.content, policy=policy.default)))
                return "250 OK"

        import socket
        with socket.socket() as sock:  # a free port
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
