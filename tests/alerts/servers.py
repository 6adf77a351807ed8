"""Real HTTP servers on 127.0.0.1 standing in for the Telegram Bot API and a webhook
receiver. `hold` makes every POST wait on a threading.Event before answering (a slow
endpoint, released by the test); `closed_port()` gives an address where nothing listens."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.helpers import serve_http


@dataclass
class Received:
    path: str
    body: dict[str, Any]


@dataclass
class Endpoint:
    url: str
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # set: answer; unset: wait (slow endpoint)
    arrived: threading.Event = field(default_factory=threading.Event)

    def texts(self) -> list[str]:
        return [str(r.body.get("text", "")) for r in self.received]


@contextmanager
def serve(kind: str, token: str = "", slow: bool = False) -> Iterator[Endpoint]:
    """kind: telegram (answers like the Bot API for `token`) or webhook (204)."""
    ep = Endpoint(url="")
    if slow:
        ep.hold = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            ep.received.append(Received(self.path, body))
            ep.arrived.set()
            if ep.hold is not None:
                ep.hold.wait(30)
            if kind == "telegram":
                if self.path == f"/bot{token}/sendMessage":
                    status, doc = 200, {"ok": True, "result": {"message_id": len(ep.received)}}
                else:
                    status, doc = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

    with serve_http(Handler) as ep.url:
        try:
            yield ep
        finally:
            if ep.hold is not None:
                ep.hold.set()  # release a held request before the server shuts down


def closed_port() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/hook"
