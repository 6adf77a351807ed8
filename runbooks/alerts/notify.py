"""Tell the team about changes: Telegram (Bot API sendMessage) and a JSON webhook.

    --notify telegram   TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID from the environment;
                        API base https://api.telegram.org (RUNBOOKS_TELEGRAM_API overrides)
    --notify webhook    RUNBOOKS_WEBHOOK_URL; a JSON POST {"text": ...} (Slack-compatible)
    --notify telegram,webhook   both

One message per run and channel carries every change of the target (new, escalated,
resolved problems); ongoing problems are never sent, acknowledged ones neither. The
token, chat id and webhook URL are never written anywhere (masked in every error).

Limits: each send has a total timeout (RUNBOOKS_NOTIFY_TIMEOUT, default 5 s); channels are
sent concurrently, so a run waits at most that long. Rate limit per target and channel:
at most RUNBOOKS_NOTIFY_MAX_PER_HOUR (default 6) attempts in any hour; beyond it the
changes wait for the next run. A change is settled when at least one channel delivered
it; when none did (down, slow, rate-limited), it is sent again by the next run. A failed
notification never changes the run's verdict or exit code.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from runbooks.alerts.lifecycle import Change
from runbooks.alerts.transport import PostResult, Transport, UrllibTransport
from runbooks.errors import InputError

CHANNELS = ("telegram", "webhook")
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_PER_HOUR = 6
TELEGRAM_API = "https://api.telegram.org"
MAX_TEXT = 3800  # Telegram's limit is 4096 characters
ICON = {"new": "🔴", "escalated": "🟠", "resolved": "✅"}


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    chat_id: str | None = None
    secrets: tuple[str, ...] = ()

    def body(self, text: str) -> bytes:
        if self.name == "telegram":
            return json.dumps({"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}).encode()
        return json.dumps({"text": text}).encode()

    def mask(self, text: str) -> str:
        for s in sorted(self.secrets, key=len, reverse=True):
            if s:
                text = text.replace(s, "***")
        return text

    def outcome(self, res: PostResult) -> str | None:
        """None when delivered, else why not (masked)."""
        if res.error and res.status == 0:
            return self.mask(res.error)
        if self.name == "telegram":
            try:
                doc = json.loads(res.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                doc = {}
            if res.status == 200 and isinstance(doc, Mapping) and doc.get("ok") is True:
                return None
            desc = doc.get("description") if isinstance(doc, Mapping) else None
            return self.mask(f"Telegram API HTTP {res.status}" + (f": {desc}" if desc else ""))
        if 200 <= res.status < 300:
            return None
        return self.mask(f"webhook HTTP {res.status}")


@dataclass(frozen=True)
class Settings:
    channels: tuple[Channel, ...]
    timeout: float = DEFAULT_TIMEOUT
    max_per_hour: int = DEFAULT_MAX_PER_HOUR

    @property
    def secrets(self) -> list[str]:
        return [s for c in self.channels for s in c.secrets]


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"{name}: must be greater than 0")
    return value


def parse(spec: str | None, environ: Mapping[str, str] | None = None) -> Settings | None:
    """`--notify` value -> settings; InputError (exit 3) naming what is missing."""
    if not spec:
        return None
    env = os.environ if environ is None else environ
    names = [n.strip().lower() for n in str(spec).split(",") if n.strip()]
    unknown = [n for n in names if n not in CHANNELS]
    if unknown or not names:
        raise InputError(f"--notify {spec!r}: expected telegram, webhook or telegram,webhook")
    channels = []
    for name in dict.fromkeys(names):
        if name == "telegram":
            token, chat = env.get("TELEGRAM_BOT_TOKEN", ""), env.get("TELEGRAM_CHAT_ID", "")
            missing = [k for k, v in (("TELEGRAM_BOT_TOKEN", token), ("TELEGRAM_CHAT_ID", chat)) if not v]
            if missing:
                raise InputError(f"--notify telegram needs {' and '.join(missing)} in the environment")
            base = (env.get("RUNBOOKS_TELEGRAM_API") or TELEGRAM_API).rstrip("/")
            if not base.startswith(("http://", "https://")):
                raise InputError("RUNBOOKS_TELEGRAM_API: expected an http(s) URL")
            channels.append(Channel("telegram", f"{base}/bot{token}/sendMessage", chat, (token, chat)))
        else:
            url = env.get("RUNBOOKS_WEBHOOK_URL", "")
            if not url:
                raise InputError("--notify webhook needs RUNBOOKS_WEBHOOK_URL in the environment")
            if not url.startswith(("http://", "https://")):
                raise InputError("RUNBOOKS_WEBHOOK_URL: expected an http(s) URL")
            channels.append(Channel("webhook", url, None, (url,)))
    return Settings(tuple(channels), _number(env, "RUNBOOKS_NOTIFY_TIMEOUT", DEFAULT_TIMEOUT),
                    int(_number(env, "RUNBOOKS_NOTIFY_MAX_PER_HOUR", DEFAULT_MAX_PER_HOUR)))


def _objects(c: Change) -> str:
    if not c.objects:
        return ""
    if all(o.startswith("log=") for o in c.objects):  # a log exception: its first line says more than a hash
        for item in c.evidence:
            lines = item.get("lines") if isinstance(item, Mapping) else None
            first = lines[0] if isinstance(lines, list) and lines else None
            text = first.get("line") if isinstance(first, Mapping) else None
            if text:
                return f"log: {str(text)[:160]}"
    shown = ", ".join(o.replace("=", " ") for o in c.objects[:3])
    return shown + (f" and {len(c.objects) - 3} more" if len(c.objects) > 3 else "")


def describe(c: Change, target: str) -> str:
    also = [f for f in c.findings if f != c.finding]
    objs = _objects(c)
    if c.kind == "resolved":
        return (f"{ICON['resolved']} RESOLVED {c.severity} {c.finding} on {target}: {c.title}\n"
                f"first seen {c.first_seen}, last seen {c.last_seen}, seen in {c.seen} run(s); resolved {c.resolved_at}\n"
                f"key {c.key}")
    head = "NEW" if c.kind == "new" else "ESCALATED"
    count = f"count {c.count}" if c.kind == "new" else f"count {c.told_count} -> {c.count}"
    lines = [f"{ICON[c.kind]} {head} {c.severity} {c.finding} on {target}: {c.title}",
             count + (f"; {objs}" if objs else "") + (f" (also {', '.join(also)})" if also else "")]
    if c.kind == "escalated":
        lines.append(f"ongoing since {c.first_seen}, seen in {c.seen} run(s)")
    if c.action:
        lines.append(f"next: {c.action}")
    lines.append(f"key {c.key}  (silence: inv alerts.ack {c.key} --for 4h --why \"...\")")
    return "\n".join(lines)


def message(target: str, changes: list[Change], transcript: str) -> str:
    parts = [describe(c, target) for c in changes]
    text = "\n\n".join(parts) + f"\n\ntranscript: {transcript}"
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 40].rstrip() + f"\n… (cut; transcript: {transcript})"
    return text


@dataclass
class Delivery:
    channel: str
    ok: bool
    sent: bool  # False: not attempted (rate limit)
    error: str = ""
    duration_s: float = 0.0
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "sent": self.sent, "error": self.error,
                "duration_s": round(self.duration_s, 3), "changes": self.changes}


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def recent_attempts(con: sqlite3.Connection, target: str, channel: str, now: datetime) -> int:
    since = _iso(now - timedelta(hours=1))
    row = con.execute("SELECT COUNT(*) FROM notifications WHERE target=? AND channel=? AND sent_at>?",
                      (target, channel, since)).fetchone()
    return int(row[0])


def send(con: sqlite3.Connection, settings: Settings, target: str, changes: list[Change], transcript: str,
         transport: Transport | None = None, now: datetime | None = None) -> list[Delivery]:
    """One message per channel (concurrently); every attempt recorded for the rate limit."""
    transport = transport or UrllibTransport()
    now = now or datetime.now(timezone.utc)
    text = message(target, changes, transcript)
    labels = [c.label() for c in changes]
    todo: list[Channel] = []
    out: list[Delivery] = []
    for ch in settings.channels:
        n = recent_attempts(con, target, ch.name, now)
        if n >= settings.max_per_hour:
            out.append(Delivery(ch.name, False, False, f"rate limit: {n} message(s) to {ch.name} for {target} in the "
                                f"last hour (max {settings.max_per_hour}); the changes wait for the next run",
                                0.0, labels))
        else:
            todo.append(ch)

    def one(ch: Channel) -> Delivery:
        res = transport.post(ch.url, ch.body(text), {"Content-Type": "application/json"}, settings.timeout)
        why = ch.outcome(res)
        return Delivery(ch.name, why is None, True, why or "", res.duration_s, labels)

    if todo:
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            sent = list(pool.map(one, todo))
        with con:
            for d in sent:
                con.execute("INSERT INTO notifications (target, channel, sent_at, ok, kinds, error) VALUES (?,?,?,?,?,?)",
                            (target, d.channel, _iso(now), int(d.ok), json.dumps(labels), d.error))
        out.extend(sent)
    return out
