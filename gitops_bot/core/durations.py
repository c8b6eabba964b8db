"""Prometheus-style durations (`90s`, `5m`, `1h30m`, `1d`) parsed to timedelta."""

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: object) -> timedelta:
    """Parse a duration; raise ValueError for anything else (including zero)."""
    if not isinstance(text, str) or not text or _PART.sub("", text):
        raise ValueError(f"not a duration like 30s, 5m, 1h30m: {text!r}")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)
