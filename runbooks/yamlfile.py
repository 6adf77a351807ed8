"""YAML loading that remembers line numbers, so errors can say `file:line: key`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LMap(dict):
    """A dict that knows the line of each key (1-based) and its own line."""

    line: int = 0
    key_lines: dict[str, int]


class LList(list):
    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


# libyaml's parser (PyYAML built with it): the same nodes, marks and constructors ~5x
# faster than the pure-Python reader/scanner, which cost a fan-out's start 50 ms for a
# 40-target config. Its error messages are worded differently, so a text it rejects is
# parsed again by the pure-Python loader, whose error (file:line: message) is the one shown.
_CLoader: Any = None
if getattr(yaml, "CSafeLoader", None) is not None:
    class _CSafe(yaml.CSafeLoader):
        pass

    _CLoader = _CSafe


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LMap:
    loader.flatten_mapping(node)
    m = LMap()
    m.line = node.start_mark.line + 1
    m.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict, set)) or not _hashable(key):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value (a string or number), not a list or mapping",
                key_node.start_mark,
            )
        if key in m:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[str(key)] = key_node.start_mark.line + 1
    return m


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LList:
    seq = LList(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    return seq


_loader: Any
for _loader in (_Loader, _CLoader):
    if _loader is not None:
        _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
        _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_yaml(path: Path, error_cls: type[Exception]) -> Any:
    """Parse a YAML file; syntax errors become `error_cls('path:line: message')`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error_cls(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error_cls(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from exc
    return load_yaml_text(text, str(path), error_cls)


def load_yaml_text(text: str, where: str, error_cls: type[Exception]) -> Any:
    if _CLoader is not None:
        try:
            return yaml.load(text, Loader=_CLoader)  # noqa: S506 - CSafeLoader subclass
        except Exception:  # noqa: BLE001 - the pure-Python loader below says what is wrong, as it always has
            pass
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise error_cls(f"{where}{line}: invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise error_cls(f"{where}: invalid YAML: {exc}") from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. a date like 2026-13-45
        raise error_cls(f"{where}: invalid YAML value: {exc}") from exc


def line_of(node: Any, key: str | None = None) -> int:
    if key is not None and isinstance(node, LMap):
        return node.key_lines.get(key, node.line)
    return getattr(node, "line", 0)
