"""Targets and inventory from `runbooks.yaml` ($RUNBOOKS_CONFIG), validated.

Every error names the file, line and key and exits 3. Header values and `env` values may
reference the environment as `${NAME}`; they are resolved at use time and every resolved
value is treated as a secret (masked before anything is printed or written).

Modules: target (the Target and ApiConfig values), parse (one target's keys, validated),
files (finding and loading the file: targets, groups, the built-in sandbox).
"""

from __future__ import annotations

from runbooks.config.files import CONFIG_NAME, SANDBOX, Config, config_path, load_config, sandbox_target, user_config_path
from runbooks.config.parse import parse_target
from runbooks.config.target import ApiConfig, Target

__all__ = ["CONFIG_NAME", "SANDBOX", "ApiConfig", "Config", "Target", "config_path", "load_config", "parse_target",
           "sandbox_target", "user_config_path"]
