"""Real HTTP servers on 127.0.0.1 for the credential tests: each records every request's
headers, and answers from a per-path table (JSON, redirect, or a slow drip)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.helpers import serve_http


@dataclass
class Recorder:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    # path -> ("json", body) | ("redirect", (status, location)) | ("drip", (seconds, bytes))
    routes: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def got_header(self, name: str) -> list[str]:
        return [r["headers"][name.lower()] for r in self.requests if name.lower() in r["headers"]]


def _handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            path = self.path.split("?")[0]
            rec.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            kind, arg = rec.routes.get(path, ("json", {"detail": "not found"}))
            if kind == "redirect":
                status, location = arg
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "drip":
                seconds, chunks = arg
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(chunks))
                self.end_headers()
                try:
                    for _ in range(chunks):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(seconds)  # the server's pace, not test synchronisation
                except OSError:
                    pass
            else:
                body = json.dumps(arg).encode()
                self.send_response(200 if path in rec.routes else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    return H


@contextmanager
def http_server() -> Iterator[Recorder]:
    rec = Recorder()
    with serve_http(_handler(rec)) as rec.url:
        yield rec
