"""Logging: one event per line, JSON (for collectors) or text (for people); never ANSI codes.

Events carry structured fields (agent, fingerprint, policy, outcome, culprit, commit, reason…)
passed with `event(...)`, which puts them under one `extra` key so they can never clash with
LogRecord's own attributes. Every handler strips ANSI escapes, so a library that colours its
lines (Werkzeug's access log does) cannot put escape codes into the stream.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
_FIELDS = "gitops_bot_fields"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def event(logger: logging.Logger, level: int, message: str, **fields: object) -> None:
    """Log one event with structured fields (None values are left out)."""
    kept = {k: v for k, v in fields.items() if v is not None}
    logger.log(level, message, extra={_FIELDS: kept})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields an `event(...)` call attached to a record."""
    found = getattr(record, _FIELDS, None)
    return dict(found) if isinstance(found, dict) else {}


def plain(text: str) -> str:
    """Text without ANSI escape sequences."""
    return _ANSI.sub("", text)


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the event's fields, exc when any."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": plain(record.getMessage()),
        }
        data |= {k: v for k, v in fields_of(record).items() if k not in data}
        if record.exc_info:
            data["exc"] = plain(self.formatException(record.exc_info))
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`ts LEVEL message key=value …`, the fields sorted by name, no colours."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={_quoted(v)}" for k, v in sorted(fields_of(record).items()))
        line = f"{_timestamp(record)} {record.levelname} {plain(record.getMessage())}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info:
            line = f"{line}\n{plain(self.formatException(record.exc_info))}"
        return line


def _quoted(value: object) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


def configure(fmt: LogFormat, level: str, *, stream: TextIO | None = None) -> None:
    """Route every logger (ours, Werkzeug's, libraries') through one handler on stderr."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Werkzeug adds its own handler when it finds none on its logger; give it ours via the root.
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.handlers.clear()
    werkzeug.propagate = True
