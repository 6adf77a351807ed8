"""HTTP transport for API checks (urllib; no extra dependency). A protocol so tests of
pure logic can swap it, while feature tests hit a real server on 127.0.0.1.

Credentials stay with their origin: redirects are never followed by urllib itself. A
redirect to another origin (scheme, host or port) while the request carries configured
headers (X-Telegram-Init-Data, Authorization) is refused and reported as a failed call;
a same-origin redirect is followed only when the target's `api.follow_redirects` is true.

The timeout is a TOTAL deadline per call (connect, headers, body and every redirect hop),
not urllib's per-read socket timeout, which a server sending one byte at a time resets
forever: when it passes, the call's sockets are shut down and the call fails.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Protocol

from runbooks.model import HttpRequest, HttpResponse

MAX_BODY = 20 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class HttpTransport(Protocol):
    def send(self, req: HttpRequest, headers: dict[str, str], verify_tls: bool = True,
             follow_redirects: bool = False) -> HttpResponse: ...


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in."""
    u = urllib.parse.urlsplit(url)
    scheme = u.scheme.lower()
    port = u.port or (443 if scheme == "https" else 80)
    return scheme, (u.hostname or "").lower(), port


def origin_text(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


class _Deadline:
    """Every socket opened for one call; `expire()` shuts them all down (from a timer)."""

    def __init__(self) -> None:
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self.expired = False

    def add(self, sock: Any) -> Any:
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                self._shut(sock)
        return sock

    @staticmethod
    def _shut(sock: Any) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for s in self._socks:
                self._shut(s)


def _tracked(base: type[http.client.HTTPConnection], deadline: _Deadline) -> Any:
    class Tracked(base):  # type: ignore[valid-type,misc]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            create: Any = self._create_connection  # type: ignore[has-type]
            self._create_connection = lambda *ca, **ck: deadline.add(create(*ca, **ck))

        def connect(self) -> None:
            super().connect()
            deadline.add(self.sock)  # the TLS-wrapped socket, for https

    return Tracked


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None  # the 3xx comes back as an HTTPError; UrllibTransport.send decides


def _opener(deadline: _Deadline, ctx: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    class H(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(_tracked(http.client.HTTPConnection, deadline), req)

    class HS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(_tracked(http.client.HTTPSConnection, deadline), req, context=ctx)

    return urllib.request.build_opener(H(), HS(context=ctx), _NoRedirect())


class UrllibTransport:
    def send(self, req: HttpRequest, headers: dict[str, str], verify_tls: bool = True,
             follow_redirects: bool = False) -> HttpResponse:
        start = time.monotonic()
        deadline = _Deadline()
        timer = threading.Timer(req.timeout, deadline.expire)
        timer.daemon = True
        timer.start()
        try:
            resp = self._send(req, headers, verify_tls, follow_redirects, deadline)
        finally:
            timer.cancel()
        if deadline.expired:
            return HttpResponse(0, {}, b"", time.monotonic() - start,
                                error=f"timed out after {req.timeout:g}s (total time for the call)")
        return HttpResponse(resp.status, resp.headers, resp.body, time.monotonic() - start, resp.error)

    def _send(self, req: HttpRequest, headers: dict[str, str], verify_tls: bool, follow_redirects: bool,
              deadline: _Deadline) -> HttpResponse:
        method, url = req.method.upper(), req.url
        body: bytes | None = None
        ctype: str | None = None
        if req.form is not None or req.files:
            body, ctype = encode_multipart(req)
        elif req.body is not None:
            body, ctype = json.dumps(req.body).encode(), "application/json"
        ctx = None
        if url.startswith("https://") and not verify_tls:
            ctx = ssl._create_unverified_context()  # noqa: S323 - explicit per-target opt-out
        opener = _opener(deadline, ctx)
        for _hop in range(MAX_REDIRECTS + 1):
            resp = self._once(opener, method, url, body, ctype, headers, req.timeout)
            location = resp.headers.get("Location") or resp.headers.get("location")
            if resp.error or resp.status not in _REDIRECTS or not location:
                return resp
            target = urllib.parse.urljoin(url, location)
            if origin(target) != origin(url):
                if headers:
                    names = ", ".join(sorted(headers))
                    return _refused(resp, f"refused to follow HTTP {resp.status} redirect from {origin_text(url)} to "
                                          f"another origin {origin_text(target)}: the request carries configured "
                                          f"headers ({names}) that are never sent to another origin")
                if not follow_redirects:
                    return _refused(resp, _not_followed(resp.status, target))
            elif not follow_redirects:
                return _refused(resp, _not_followed(resp.status, target))
            if resp.status in (301, 302, 303) and method != "HEAD":
                method, body, ctype = "GET", None, None
            url = target
        return _refused(resp, f"more than {MAX_REDIRECTS} redirects, last to {url}")

    def _once(self, opener: urllib.request.OpenerDirector, method: str, url: str, data: bytes | None,
              ctype: str | None, headers: dict[str, str], timeout: float) -> HttpResponse:
        hdrs = {"Accept": "application/json", "User-Agent": "runbooks", **headers}
        if ctype is not None:
            if ctype.startswith("multipart/"):
                hdrs["Content-Type"] = ctype
            else:
                hdrs.setdefault("Content-Type", ctype)
        r = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        start = time.monotonic()
        try:
            with opener.open(r, timeout=timeout) as resp:
                payload = resp.read(MAX_BODY)
                return HttpResponse(resp.status, dict(resp.headers.items()), payload, time.monotonic() - start)
        except urllib.error.HTTPError as exc:
            try:
                payload = exc.read(MAX_BODY) if exc.fp else b""
            except (OSError, http.client.HTTPException):
                payload = b""
            return HttpResponse(exc.code, dict(exc.headers.items()) if exc.headers else {}, payload,
                                time.monotonic() - start)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return HttpResponse(0, {}, b"", time.monotonic() - start, error=str(reason) or type(exc).__name__)


def _not_followed(status: int, target: str) -> str:
    return f"HTTP {status} redirect to {target} not followed (the target's api.follow_redirects is false)"


def _refused(resp: HttpResponse, why: str) -> HttpResponse:
    return HttpResponse(resp.status, resp.headers, resp.body, resp.duration_s, error=why)


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
