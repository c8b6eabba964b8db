"""Read and surgically replace one scalar in YAML text by path (`a.b`, `[N]`, `[key=value]`).

Edits touch only the scalar's own characters, so comments, ordering and every other byte of
the file stay as they were.
"""

import re
from dataclasses import dataclass

import yaml

from gitops_bot.core.errors import YamlPathError

# libyaml's loader gives the same marks ~20x faster; fall back where PyYAML was built without it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]|\[([^=\]]+)=([^\]]*)\]")
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@:+-]+$")


@dataclass(frozen=True)
class Key:
    """Mapping key segment."""

    name: str


@dataclass(frozen=True)
class Index:
    """Sequence index segment."""

    index: int


@dataclass(frozen=True)
class Select:
    """Sequence item whose `key` equals `value`."""

    key: str
    value: str


Segment = Key | Index | Select


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar stands in the text, and its value."""

    start: int
    end: int
    value: str
    style: str | None


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split a field path into segments; raise ValueError if malformed."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        found = _TOKEN.match(path, pos)
        if found is None or (found[1] is not None and pos > 0 and path[pos] != "."):
            raise ValueError(f"malformed path {path!r} at position {pos}")
        if found[1] is not None:
            segments.append(Key(found[1]))
        elif found[2] is not None:
            segments.append(Index(int(found[2])))
        else:
            segments.append(Select(found[3], found[4]))
        pos = found.end()
    if not segments:
        raise ValueError("empty path")
    return tuple(segments)


def _child(node: yaml.Node, seg: Segment) -> yaml.Node | None:
    if isinstance(seg, Key) and isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if getattr(k, "value", None) == seg.name), None)
    if isinstance(seg, Index) and isinstance(node, yaml.SequenceNode):
        return node.value[seg.index] if seg.index < len(node.value) else None
    if isinstance(seg, Select) and isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.MappingNode) and _child(item, Key(seg.key)) is not None:
                found = _child(item, Key(seg.key))
                if isinstance(found, yaml.ScalarNode) and found.value == seg.value:
                    return item
    return None


def _compose(text: str) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.YAMLError as e:
        raise YamlPathError(f"not valid YAML: {e}") from e


def check_yaml(text: str) -> None:
    """Raise YamlPathError when the text is not valid YAML."""
    _compose(text)


def find_scalar(text: str, path: str) -> ScalarSpan | None:
    """The scalar at path in the first document where it resolves, or None if none has it."""
    segments = parse_path(path)
    for doc in _compose(text):
        node: yaml.Node | None = doc
        for seg in segments:
            node = _child(node, seg) if node is not None else None
        if isinstance(node, yaml.ScalarNode):
            return ScalarSpan(node.start_mark.index, node.end_mark.index, str(node.value), node.style)
    return None


def read_value(text: str | None, path: str) -> str | None:
    """The scalar's value, or None when the file or path is missing (or the YAML is broken)."""
    if text is None:
        return None
    try:
        span = find_scalar(text, path)
    except YamlPathError:
        return None
    return span.value if span else None


def _render(value: str, style: str | None) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _PLAIN_SAFE.fullmatch(value) or value.lower() in ("true", "false", "null", "~"):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def replace_value(text: str, path: str, new_value: str) -> str:
    """Return text with only the scalar at path replaced; raise YamlPathError if it is absent."""
    span = find_scalar(text, path)
    if span is None:
        raise YamlPathError(f"path {path!r} not found")
    if span.style in ("|", ">"):
        raise YamlPathError(f"path {path!r} is a block scalar; refusing to rewrite it")
    out = text[: span.start] + _render(new_value, span.style) + text[span.end :]
    if read_value(out, path) != new_value:
        raise YamlPathError(f"rewriting {path!r} did not yield {new_value!r}")
    return out
