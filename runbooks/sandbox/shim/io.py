"""Output helpers: bytes to the real fds, docker-style errors."""

from __future__ import annotations

import sys


def out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))


def err(text: str) -> None:
    sys.stderr.buffer.write(text.encode("utf-8"))


def fail(message: str, code: int = 1) -> int:
    sys.stdout.flush()
    err(message.rstrip("\n") + "\n")
    return code


def no_such_container(name: str) -> int:
    return fail(f"Error response from daemon: No such container: {name}")
