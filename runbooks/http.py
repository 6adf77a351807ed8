"""HTTP transport for API checks (urllib; no extra dependency). A protocol so tests of
pure logic can swap it, while feature tests hit a real server on 127.0.0.1."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from typing import Protocol

from .model import HttpRequest, HttpResponse

MAX_BODY = 20 * 1024 * 1024


class HttpTransport(Protocol):
    def send(self, req: HttpRequest, headers: dict[str, str], verify_tls: bool = True) -> HttpResponse: ...


class UrllibTransport:
    def send(self, req: HttpRequest, headers: dict[str, str], verify_tls: bool = True) -> HttpResponse:
        data = None
        hdrs = {"Accept": "application/json", "User-Agent": "runbooks", **headers}
        if req.form is not None or req.files:
            data, hdrs["Content-Type"] = encode_multipart(req)
        elif req.body is not None:
            data = json.dumps(req.body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        r = urllib.request.Request(req.url, data=data, method=req.method.upper(), headers=hdrs)
        ctx = None
        if req.url.startswith("https://") and not verify_tls:
            ctx = ssl._create_unverified_context()  # noqa: S323 - explicit per-target opt-out
        start = time.monotonic()
        try:
            with urllib.request.urlopen(r, timeout=req.timeout, context=ctx) as resp:  # noqa: S310
                body = resp.read(MAX_BODY)
                return HttpResponse(resp.status, dict(resp.headers.items()), body, time.monotonic() - start)
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BODY) if exc.fp else b""
            return HttpResponse(exc.code, dict(exc.headers.items()) if exc.headers else {}, body, time.monotonic() - start)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return HttpResponse(0, {}, b"", time.monotonic() - start, error=str(reason))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def encode_multipart(req: HttpRequest) -> tuple[bytes, str]:
    """multipart/form-data (RFC 7578) of the request's form fields and files."""
    boundary = f"runbooks-{uuid.uuid4().hex}"
    out: list[bytes] = []
    for name, value in (req.form or {}).items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode())
        out.append(str(value).encode() + b"\r\n")
    for f in req.files:
        out.append((f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(f.field)}"; '
                    f'filename="{_quote(f.filename)}"\r\nContent-Type: {f.content_type}\r\n\r\n').encode())
        out.append(f.content + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"
