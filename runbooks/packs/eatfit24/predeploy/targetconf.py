"""A target's `predeploy:` section: driver (sandbox | eatfit24), test_user_id /
test_username, photos_dir (a directory of JPEG/PNG test photos), stuck_grace_s (seconds a
PROCESSING meal with no active photo may wait). Checked when the config loads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.errors import ConfigError
from runbooks.yamlfile import line_of

PREDEPLOY_KEYS = ("driver", "test_user_id", "test_username", "photos_dir", "stuck_grace_s")
PREDEPLOY_DRIVERS = ("sandbox", "eatfit24")


def validate(raw: Mapping[str, Any], ctx: str, where: str) -> None:
    for key in raw:
        if key not in PREDEPLOY_KEYS:
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: unknown key (allowed: {', '.join(PREDEPLOY_KEYS)})")
    driver = raw.get("driver")
    if driver is not None and driver not in PREDEPLOY_DRIVERS:
        raise ConfigError(f"{where}:{line_of(raw, 'driver')}: {ctx}.driver: must be one of {', '.join(PREDEPLOY_DRIVERS)}, "
                          f"not {driver!r}")
    photos = raw.get("photos_dir")
    if photos is not None and (not isinstance(photos, str) or not photos.strip()):
        raise ConfigError(f"{where}:{line_of(raw, 'photos_dir')}: {ctx}.photos_dir: must be a directory path")
    grace = raw.get("stuck_grace_s")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float)) or not 0 < grace <= 600):
        raise ConfigError(f"{where}:{line_of(raw, 'stuck_grace_s')}: {ctx}.stuck_grace_s: must be seconds in (0, 600]")
