"""Test photos the eatfit24 driver uploads: the tiny JPEGs shipped in `photos/`, or the
JPEG/PNG files of the directory a target names (`predeploy.photos_dir`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "photos"
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
MAX_BYTES = 10 * 1024 * 1024


class PhotosError(ValueError):
    """The photos directory cannot be used (the message names it and why)."""


@dataclass(frozen=True)
class Photo:
    name: str
    content: bytes
    content_type: str


def load_photos(directory: str | None = None) -> list[Photo]:
    """Every usable photo of `directory` (default: the shipped ones), sorted by name."""
    root = Path(directory).expanduser() if directory else SHIPPED
    if not root.is_dir():
        raise PhotosError(f"predeploy.photos_dir: {root} is not a directory")
    photos: list[Photo] = []
    for path in sorted(root.iterdir()):
        ctype = TYPES.get(path.suffix.lower())
        if ctype is None or not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        content = path.read_bytes()
        if content.startswith(MAGIC[ctype]):
            photos.append(Photo(path.name, content, ctype))
    if not photos:
        raise PhotosError(f"predeploy.photos_dir: no JPEG/PNG photo (under 10 MB) in {root}")
    return photos
