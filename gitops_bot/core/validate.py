"""Small validators for YAML documents that collect every problem instead of stopping at one."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from gitops_bot.core.durations import parse_duration


class Problems:
    """Collects every problem of one document so `policy check` prints them all."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, key: str, problem: str) -> None:
        """Record one problem at a key."""
        self.items.append(f"{self.where}: {key}: {problem}")


def get_typed(obj: Mapping[str, Any], key: str, kind: type, errs: Problems, at: str) -> Any:
    """The value at key if it has the wanted type (or is absent); a problem otherwise."""
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        errs.add(f"{at}{key}", f"must be a {kind.__name__}, got {type(value).__name__}")
        return None
    return value


def duration(raw: object, default: timedelta, errs: Problems, key: str) -> timedelta:
    """A duration, the default when absent, a problem when malformed."""
    if raw is None:
        return default
    try:
        return parse_duration(raw)
    except ValueError as e:
        errs.add(key, str(e))
        return default


def choice(raw: object, choices: tuple[str, ...], default: str, errs: Problems, key: str) -> str:
    """One of the allowed words, the default when absent."""
    if raw is None:
        return default
    if raw not in choices:
        errs.add(key, f"must be one of {', '.join(choices)}, got {raw!r}")
        return default
    return str(raw)


def str_list(raw: object, errs: Problems, key: str) -> tuple[str, ...]:
    """A list of non-empty strings (empty when absent)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        errs.add(key, "must be a list of non-empty strings")
        return ()
    return tuple(raw)
