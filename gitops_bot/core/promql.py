"""PromQL templates filled from alert labels, escaped so a crafted label cannot change the query.

The template is tokenised the way PromQL's lexer sees it: double- and single-quoted strings (with
backslash escapes), backtick raw strings, and `#` comments to the end of the line. A placeholder
may stand only inside a double-quoted string; there the value is string-escaped, and regex-escaped
first when the string is the right side of a `=~` or `!~` matcher.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


@dataclass(frozen=True)
class Span:
    """One lexical region of a template: a string literal (its quote) or a comment ('#')."""

    start: int  # index of the opening quote or '#'
    end: int  # index just past the closing quote, or the end of the line
    kind: str  # '"' | "'" | '`' | '#'
    regex: bool = False  # the right side of =~ or !~
    closed: bool = True


def escape_string(value: str) -> str:
    """Escape a value for a double-quoted PromQL string literal."""
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def escape_regex(value: str) -> str:
    """Escape RE2 metacharacters so a value matches only itself inside =~ / !~."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in value)


def _string_end(template: str, i: int, quote: str) -> tuple[int, bool]:
    """Index just past the literal opened at i, and whether it was closed."""
    j = i + 1
    while j < len(template):
        ch = template[j]
        if ch == "\\" and quote != "`":
            j += 2
            continue
        if ch == quote:
            return j + 1, True
        if ch == "\n" and quote != "`":
            return j, False  # PromQL strings do not span lines
        j += 1
    return len(template), False


def spans(template: str) -> list[Span]:
    """String literals and comments of a template, in order."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch in "\"'`":
            end, closed = _string_end(template, i, ch)
            regex = template[:i].rstrip().endswith(("=~", "!~"))
            out.append(Span(i, end, ch, regex, closed))
            i = end
        elif ch == "#":
            end = template.find("\n", i)
            end = len(template) if end < 0 else end
            out.append(Span(i, end, "#"))
            i = end
        else:
            i += 1
    return out


def _where(found: re.Match[str], regions: list[Span]) -> Span | None:
    return next((s for s in regions if s.start < found.start() and found.end() <= s.end), None)


_PLACES = {"'": "in a single-quoted string", "`": "in a raw string", "#": "in a comment"}


def template_problems(template: str) -> list[str]:
    """Placeholders anywhere but inside a closed double-quoted string could inject PromQL; list them."""
    regions = spans(template)
    problems = [f"unterminated {s.kind} string at offset {s.start}" for s in regions if not s.closed]
    for found in _PLACEHOLDER.finditer(template):
        span = _where(found, regions)
        if span is not None and span.kind == '"' and span.closed:
            continue
        if span is None:
            place = "outside any string"
        else:
            place = "in an unterminated string" if span.kind == '"' else _PLACES[span.kind]
        problems.append(f"placeholder {{{found[1]}}} must stand inside a double-quoted string ({place})")
    return problems


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill placeholders with escaped values; an unknown placeholder renders as the empty string."""
    if problems := template_problems(template):
        raise ValueError("; ".join(problems))
    regions = spans(template)

    def fill(found: re.Match[str]) -> str:
        value = values.get(found[1], "")
        span = _where(found, regions)
        return escape_string(escape_regex(value) if span is not None and span.regex else value)

    return _PLACEHOLDER.sub(fill, template)
