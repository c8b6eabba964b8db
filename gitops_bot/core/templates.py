"""`{agent}`, `{env}`, … placeholders in file, path and paths templates (pure).

A placeholder is filled only with a label value that passed `is_plain_name`, so an alert can never
steer a template out of the folder it names (`..`, `/`, control characters are refused).
"""

import re
from collections.abc import Mapping

from gitops_bot.core.paths import is_plain_name

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What a placeholder may stand for when read back out of a repo (the same rule as is_plain_name).
_VALUE = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?"


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names in a template, in order, each once."""
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(template)))


def expand(template: str, bindings: Mapping[str, str]) -> str:
    """Fill every placeholder; a name with no binding is left as it is (callers check first)."""
    return _PLACEHOLDER.sub(lambda m: bindings.get(m[1], m[0]), template)


def unbound(template: str, bindings: Mapping[str, str]) -> tuple[str, ...]:
    """Placeholders the bindings do not fill."""
    return tuple(n for n in placeholders(template) if n not in bindings)


def template_regex(template: str, bindings: Mapping[str, str], *, glob: bool = False) -> re.Pattern[str]:
    """A regex for the template with bound names filled and free names as named groups.

    With `glob`, `**` and `*` in the rest of the template work as in spec.agent.paths.
    """
    out: list[str] = []
    seen: set[str] = set()
    pos = 0
    for found in _PLACEHOLDER.finditer(template):
        out.append(_literal(template[pos : found.start()], glob))
        name = found[1]
        if name in bindings:
            out.append(re.escape(bindings[name]))
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            out.append(f"(?P<{name}>{_VALUE})")
            seen.add(name)
        pos = found.end()
    out.append(_literal(template[pos:], glob))
    return re.compile("".join(out))


def _literal(text: str, glob: bool) -> str:
    if not glob:
        return re.escape(text)
    return re.escape(text).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")


def match_template(template: str, actual: str, bindings: Mapping[str, str]) -> dict[str, str] | None:
    """The new bindings under which `actual` is the template's expansion, or None."""
    if "{" not in template:  # the common case, on every key of every walk: no regex
        return {} if template == actual else None
    found = template_regex(template, bindings).fullmatch(actual)
    if found is None:
        return None
    new = {k: v for k, v in found.groupdict().items() if v is not None}
    return new if all(is_plain_name(v) for v in new.values()) else None


def label_bindings(names: tuple[str, ...], labels: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """Values for the named labels, or a reason one is missing or not a plain name."""
    out = {}
    for name in names:
        value = labels.get(name)
        if value is None:
            return {}, f"label {name} is missing (the policy's templates use {{{name}}})"
        if not is_plain_name(value):
            return {}, f"label {name}={value!r} is not a plain name"
        out[name] = value
    return out, ""
