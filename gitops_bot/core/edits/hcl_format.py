"""Terraform / HCL (`.tfvars`, `.tf`) into the span tree, with python-hcl2 as the second opinion (pure).

python-hcl2 parses HCL properly but gives no positions for attributes, so a small scanner finds
where each value stands (attributes, blocks merged by type and labels, objects, tuples, strings,
heredocs; any other expression is kept as raw text). A value is trusted only when python-hcl2
reads the same string at the same path, and after an edit it must read the new one.
"""

import json
import re
from functools import lru_cache
from typing import Any

import hcl2

from gitops_bot.core.edits.tree import Index, Key, Map, Node, Scalar, Segment, Select, Seq
from gitops_bot.core.errors import YamlPathError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n")
_GAP = re.compile(r"(?:[ \t]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_GAP_NL = re.compile(r"(?:[ \t\r\n]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)


class _Builder:
    """A body being read: blocks of one type (and labels) merge as Terraform merges them."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Node | _Builder]] = []
        self.blocks: dict[str, _Builder] = {}

    def block(self, labels: list[str], body: "_Builder") -> None:
        target = self
        for label in labels[:-1]:
            if label not in target.blocks:
                target.blocks[label] = _Builder()
                target.entries.append((label, target.blocks[label]))
            target = target.blocks[label]
        last = labels[-1]
        if len(labels) == 1 and last in target.blocks:  # `locals {}` twice: one namespace
            target.blocks[last].entries.extend(body.entries)
            target.blocks[last].blocks.update(body.blocks)
            return
        target.entries.append((last, body))
        if len(labels) == 1:
            target.blocks[last] = body

    def build(self) -> Map:
        return Map(tuple((k, v.build() if isinstance(v, _Builder) else v) for k, v in self.entries))


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, why: str) -> YamlPathError:
        line = self.text.count("\n", 0, self.pos) + 1
        return YamlPathError(f"not HCL this tool can read (line {line}): {why}")

    def gap(self, newlines: bool) -> None:
        self.pos = (_GAP_NL if newlines else _GAP).match(self.text, self.pos).end()  # type: ignore[union-attr]

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def name(self) -> str:
        if self.peek() == '"':
            node = self.string()
            return node.value
        found = _IDENT.match(self.text, self.pos)
        if found is None:
            raise self.fail(f"expected a name, got {self.text[self.pos : self.pos + 10]!r}")
        self.pos = found.end()
        return found[0]

    def body(self, closing: bool) -> _Builder:
        out = _Builder()
        while True:
            self.gap(True)
            if self.peek() == "" or (closing and self.peek() == "}"):
                if closing != (self.peek() == "}"):
                    raise self.fail("unbalanced braces")
                self.pos += 1 if closing else 0
                return out
            name = self.name()
            self.gap(False)
            if self.peek() == "=" and not self.text.startswith("==", self.pos):
                self.pos += 1
                out.entries.append((name, self.expr("}" if closing else "")))
                continue
            labels = [name]
            while self.peek() != "{":
                labels.append(self.name())
                self.gap(False)
            self.pos += 1
            out.block(labels, self.body(True))

    def expr(self, stops: str) -> Node:
        self.gap(False)
        start, char = self.pos, self.peek()
        node: Node | None = None
        if char == "{":
            node = self.obj()
        elif char == "[":
            node = self.tup()
        elif char == '"':
            node = self.string()
        elif self.text.startswith("<<", self.pos):
            node = self.heredoc()
        self.gap(False)
        if node is not None and self.peek() in ("", "\r", "\n", *stops):
            return node
        self.pos = start
        self.raw(stops)
        return Scalar(
            self.text[start : self.pos].rstrip(),
            start,
            start + len(self.text[start : self.pos].rstrip()),
            "expr",
        )

    def raw(self, stops: str) -> None:
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if depth == 0 and (char in stops or char == "\n" or self.text.startswith(("#", "//"), self.pos)):
                return
            if char == '"':
                self.string()
                continue
            if self.text.startswith("<<", self.pos) and _HEREDOC.match(self.text, self.pos):
                self.heredoc()
                continue
            depth += (char in "([{") - (char in ")]}")
            if depth < 0:
                return
            self.pos += 1

    def string(self) -> Scalar:
        start, i, depth, template = self.pos, self.pos + 1, 0, False
        while i < len(self.text) and (depth or self.text[i] != '"'):
            if self.text[i] == "\n" and not depth:
                break
            if self.text.startswith(("${", "%{"), i):
                depth, template, i = depth + 1, True, i + 2
                continue
            if depth and self.text[i] in "{}":
                depth += 1 if self.text[i] == "{" else -1
            i += 2 if self.text[i] == "\\" else 1
        if i >= len(self.text) or self.text[i] != '"':
            raise self.fail("unterminated string")
        self.pos = i + 1
        raw = self.text[start : self.pos]
        try:
            value = str(json.loads(raw)) if not template else raw[1:-1]
        except json.JSONDecodeError:
            value, template = raw[1:-1], True
        return Scalar(value, start, self.pos, "template" if template else "string")

    def heredoc(self) -> Scalar:
        found = _HEREDOC.match(self.text, self.pos)
        if found is None:
            raise self.fail("malformed heredoc")
        end = re.compile(rf"^[ \t]*{found[2]}[ \t]*(?=\r?$)", re.M).search(self.text, found.end())
        if end is None:
            raise self.fail(f"heredoc {found[2]} never ends")
        start, self.pos = self.pos, end.end()
        return Scalar(self.text[found.end() : end.start()], start, self.pos, "heredoc")

    def obj(self) -> Map:
        self.pos += 1
        entries: list[tuple[str, Node]] = []
        while True:
            self.gap(True)
            if self.peek() in ("}", ""):
                self.pos += 1
                return Map(tuple(entries))
            key = self.name()
            self.gap(False)
            if self.peek() not in ("=", ":"):
                raise self.fail(f"expected = after {key!r}")
            self.pos += 1
            entries.append((key, self.expr(",}")))
            self.gap(False)
            if self.peek() == ",":
                self.pos += 1

    def tup(self) -> Seq:
        self.pos += 1
        items: list[Node] = []
        while True:
            self.gap(True)
            if self.peek() in ("]", ""):
                self.pos += 1
                return Seq(tuple(items))
            items.append(self.expr(",]"))
            self.gap(True)
            if self.peek() == ",":
                self.pos += 1


@lru_cache(maxsize=32)
def _load(text: str) -> Any:
    """python-hcl2's reading (parsed once per text: parse and verify both need it; never mutated)."""
    return hcl2.loads(text)


def parse(text: str) -> list[Node]:
    """The file's body as one span tree."""
    try:
        _load(text)
    except Exception as e:  # lark raises many unrelated classes; any of them means "not HCL"
        raise YamlPathError(
            f"not valid HCL: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    return [_Scanner(text).body(False).build()]


def _unquote(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value[1:-1]
    return value


def _values(node: Any, segs: tuple[Segment, ...]) -> list[object]:
    if not segs:
        return [_unquote(node)]
    seg, rest = segs[0], segs[1:]
    if isinstance(node, list) and not isinstance(seg, Index | Select):
        return [v for item in node for v in _values(item, segs)]  # blocks come as lists
    if isinstance(seg, Key) and isinstance(node, dict):
        return [v for k, child in node.items() if _unquote(k) == seg.name for v in _values(child, rest)]
    if isinstance(seg, Index) and isinstance(node, list) and seg.index < len(node):
        return _values(node[seg.index], rest)
    if isinstance(seg, Select) and isinstance(node, list):
        hits = [
            i
            for i in node
            if isinstance(i, dict)
            and any(_unquote(k) == seg.key and _unquote(v) == seg.value for k, v in i.items())
        ]
        return [v for item in hits for v in _values(item, rest)]
    return []


def verify(text: str, path: tuple[Segment, ...], value: str) -> None:
    """Raise unless python-hcl2 reads exactly this string at the path."""
    found = _values(_load(text), path)
    if found != [value]:
        raise YamlPathError(f"python-hcl2 reads {found!r} at this path, not {value!r}; refusing to guess")


def render(old: Scalar, new: str) -> str:
    """A quoted string stays a quoted string; heredocs, templates and expressions are not rewritten."""
    if old.style != "string":
        raise YamlPathError(f"the value is an HCL {old.style}, not a plain string; refusing to rewrite it")
    body = json.dumps(new, ensure_ascii=False)[1:-1]
    return '"' + body.replace("${", "$${").replace("%{", "%%{") + '"'
