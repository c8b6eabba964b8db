"""PromQL templates filled from alert labels, escaped so a crafted label cannot change the query."""

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def escape_string(value: str) -> str:
    """Escape a value for a double-quoted PromQL string literal."""
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def _quoted_spans(template: str) -> list[tuple[int, int]]:
    spans, start, i = [], None, 0
    while i < len(template):
        ch = template[i]
        if ch == "\\" and start is not None:
            i += 2
            continue
        if ch == '"':
            if start is None:
                start = i
            else:
                spans.append((start, i))
                start = None
        i += 1
    return spans


def template_problems(template: str) -> list[str]:
    """Placeholders outside double quotes could inject PromQL; list them."""
    spans = _quoted_spans(template)
    return [
        f"placeholder {{{m[1]}}} must stand inside a double-quoted string"
        for m in _PLACEHOLDER.finditer(template)
        if not any(a < m.start() and m.end() <= b for a, b in spans)
    ]


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill placeholders with escaped values; an unknown placeholder renders as the empty string."""
    if problems := template_problems(template):
        raise ValueError("; ".join(problems))
    return _PLACEHOLDER.sub(lambda m: escape_string(values.get(m[1], "")), template)
