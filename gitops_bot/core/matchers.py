"""Alertmanager label matchers (`name="v"`, `!=`, `=~`, `!~`), parsed and evaluated purely."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s]*)\s*$"""
)
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored like Alertmanager's."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; raise ValueError with the reason when it is malformed."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(f'not a label matcher (want name="value", !=, =~ or !~): {text!r}')
    raw = found["value"]
    value = _UNESCAPE.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
    op = found["op"]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"bad regular expression in {text!r}: {e}") from e
    return Matcher(name=found["name"], op=op, value=value)


def all_match(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for the labels."""
    return all(m.matches(labels) for m in matchers)
