"""A format-neutral document tree with source spans, field paths, and their resolution (pure).

Every format (YAML, JSON, HCL) parses into this tree so that one resolver decides, the same way
for all, what a path names: exactly one scalar, nothing, or something it refuses to guess at
(a duplicate key on the way, two list items matching a selector, the value in two documents).
"""

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Union

from gitops_bot.core.templates import match_template, placeholders

_TOKEN = re.compile(
    r"\.?([^.\[\]\"']+)"  # 1: key
    r"|\[(\d+)\]"  # 2: index
    r"|\[\"([^\"]*)\"\]|\['([^']*)'\]"  # 3, 4: quoted key
    r"|\[([^=\]\"']+)=(?:\"([^\"]*)\"|'([^']*)'|([^\]]*))\]"  # 5: selector key; 6-8: its value
)


@dataclass(frozen=True)
class Scalar:
    """A leaf value and the characters it occupies in the (BOM-less) text."""

    value: str
    start: int
    end: int
    style: str  # format-specific: how the value is written (plain, quoted, heredoc, number …)
    shared: bool = False  # a YAML anchor that aliases elsewhere also read


@dataclass(frozen=True)
class Seq:
    """A list."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Map:
    """A mapping; duplicate keys are kept so the resolver can refuse them."""

    entries: tuple[tuple[str, "Node"], ...]


Node = Union[Scalar, Seq, Map]  # noqa: UP007 - a runtime alias of forward references


@dataclass(frozen=True)
class Key:
    """Mapping key segment (may hold placeholders)."""

    name: str


@dataclass(frozen=True)
class Index:
    """Sequence index segment."""

    index: int


@dataclass(frozen=True)
class Select:
    """The one sequence item whose `key` equals `value` (value may hold placeholders)."""

    key: str
    value: str


Segment = Key | Index | Select


class Outcome(Enum):
    """How a path resolved."""

    FOUND = "found"
    MISSING = "missing"  # the agent is named (file or selector) but the value is not there
    NOT_NAMED = "not_named"  # nothing names the agent: an unknown agent
    REFUSED = "refused"  # there, but reading it would be a guess


@dataclass(frozen=True)
class Resolved:
    """One resolution: the bindings it made, and the scalar or the reason there is none."""

    outcome: Outcome
    bindings: dict[str, str] = field(default_factory=dict)
    scalar: Scalar | None = None
    reason: str = ""


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split a field path (`a.b`, `[N]`, `[k=v]`, `["a.b/c"]`) into segments; ValueError if malformed."""
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
        elif found[3] is not None or found[4] is not None:
            segments.append(Key(found[3] if found[3] is not None else found[4]))
        else:
            value = next(v for v in (found[6], found[7], found[8]) if v is not None)
            segments.append(Select(found[5].strip(), value))
        pos = found.end()
    if not segments:
        raise ValueError("empty path")
    return tuple(segments)


def segment_text(seg: Segment) -> str:
    """A segment written back as path text (for messages)."""
    if isinstance(seg, Key):
        return seg.name if re.fullmatch(r"[^.\[\]\"']+", seg.name) else f'["{seg.name}"]'
    if isinstance(seg, Index):
        return f"[{seg.index}]"
    return f"[{seg.key}={seg.value}]"


def path_text(segs: tuple[Segment, ...]) -> str:
    """Segments written back as one path."""
    out = ""
    for seg in segs:
        text = segment_text(seg)
        out += f".{text}" if out and isinstance(seg, Key) and not text.startswith("[") else text
    return out


def _named(seg: Segment) -> bool:
    return isinstance(seg, Key | Select) and bool(
        placeholders(seg.name if isinstance(seg, Key) else seg.key + "=" + seg.value)
    )


def _walk(
    node: Node, segs: tuple[Segment, ...], i: int, bindings: dict[str, str], named: bool
) -> list[Resolved]:
    if i == len(segs):
        if isinstance(node, Scalar):
            return [Resolved(Outcome.FOUND, bindings, node)]
        return [Resolved(_absent(named), bindings, reason="the path ends at a mapping or list, not a value")]
    seg, at = segs[i], path_text(segs[: i + 1])
    groups: dict[tuple[tuple[str, str], ...], list[Node]] = {}
    what = ""
    if isinstance(seg, Key) and isinstance(node, Map):
        for key, child in node.entries:
            if (new := match_template(seg.name, key, bindings)) is not None:
                groups.setdefault(tuple(sorted(new.items())), []).append(child)
        what = f"duplicate key at {at}"
    elif isinstance(seg, Index) and isinstance(node, Seq):
        if seg.index < len(node.items):
            groups[()] = [node.items[seg.index]]
    elif isinstance(seg, Select) and isinstance(node, Seq):
        for item in node.items:
            if isinstance(item, Map):
                for new, key_count in _select(item, seg, bindings):
                    if key_count > 1:
                        return [
                            Resolved(Outcome.REFUSED, bindings, reason=f"duplicate key {seg.key} in {at}")
                        ]
                    groups.setdefault(tuple(sorted(new.items())), []).append(item)
        what = f"more than one list item matches {at}"
    if not groups:
        if _named(seg):
            return [Resolved(Outcome.NOT_NAMED, bindings, reason=f"nothing matches {at}")]
        return [Resolved(_absent(named), bindings, reason=f"{at} not found")]
    out = []
    for new_items, children in groups.items():
        merged = {**bindings, **dict(new_items)}
        if len(children) > 1:
            out.append(Resolved(Outcome.REFUSED, merged, reason=what))
        else:
            out.extend(_walk(children[0], segs, i + 1, merged, named or _named(seg)))
    return out


def _absent(named: bool) -> Outcome:
    return Outcome.MISSING if named else Outcome.NOT_NAMED


def _select(item: Map, seg: Select, bindings: dict[str, str]) -> list[tuple[dict[str, str], int]]:
    values = [v for k, v in item.entries if k == seg.key]
    out = []
    for value in values:
        if (
            isinstance(value, Scalar)
            and (new := match_template(seg.value, value.value, bindings)) is not None
        ):
            out.append((new, len(values)))
    return out


_RANK = {Outcome.REFUSED: 3, Outcome.FOUND: 2, Outcome.MISSING: 1, Outcome.NOT_NAMED: 0}


def resolve(
    docs: list[Node], path: tuple[Segment, ...], bindings: dict[str, str], *, named: bool
) -> list[Resolved]:
    """Every way the path resolves over the documents, one result per distinct set of bindings.

    `named` says whether the file itself already names the agent (its template had a placeholder).
    A value found in two documents, or any refusal on the way, is a refusal for those bindings.
    """
    by_bindings: dict[tuple[tuple[str, str], ...], list[Resolved]] = {}
    for doc in docs:
        for res in _walk(doc, path, 0, dict(bindings), named):
            by_bindings.setdefault(tuple(sorted(res.bindings.items())), []).append(res)
    if not by_bindings:
        return [Resolved(_absent(named), dict(bindings), reason="the file has no documents")]
    out = []
    for results in by_bindings.values():
        found = [r for r in results if r.outcome is Outcome.FOUND]
        best = max(results, key=lambda r: _RANK[r.outcome])
        if best.outcome is Outcome.FOUND and len(found) > 1:
            best = Resolved(
                Outcome.REFUSED, best.bindings, reason="the path resolves in more than one document"
            )
        out.append(best)
    return out
