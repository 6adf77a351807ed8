"""One HTTP POST with a hard TOTAL deadline.

urllib's `timeout` bounds each socket operation, not the whole exchange: a server that
trickles bytes could hold a run for minutes. So the POST runs in a daemon thread and the
caller waits at most `timeout` seconds for it; a late answer is abandoned (the socket
timeout ends the thread soon after). A protocol, so tests of the message logic can record
posts, while the feature tests post to a real server on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class PostResult:
    status: int  # 0: no HTTP answer (refused, timeout, DNS...)
    body: bytes
    duration_s: float
    error: str | None = None


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult: ...


class UrllibTransport:
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
        start = time.monotonic()
        box: list[PostResult] = []

        def work() -> None:
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"User-Agent": "runbooks", **headers})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - operator's URL
                    box.append(PostResult(resp.status, resp.read(MAX_BODY), time.monotonic() - start))
            except urllib.error.HTTPError as exc:
                data = exc.read(MAX_BODY) if exc.fp else b""
                box.append(PostResult(exc.code, data, time.monotonic() - start, f"HTTP {exc.code}"))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                box.append(PostResult(0, b"", time.monotonic() - start, str(reason) or type(exc).__name__))

        t = threading.Thread(target=work, name="runbooks-notify", daemon=True)
        t.start()
        t.join(timeout)
        if box:
            return box[0]
        return PostResult(0, b"", time.monotonic() - start, f"no answer within {timeout:g} s (timeout)")
