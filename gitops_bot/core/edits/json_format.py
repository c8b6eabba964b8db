"""JSON into the span tree (duplicate keys kept, so they can be refused), and strings written back (pure).

Python's json module gives no positions and keeps the last duplicate silently, so the structure is
read here; `json.loads` still checks the whole text first, so only strict JSON is accepted.
"""

import json
import re

from gitops_bot.core.edits.tree import Map, Node, Scalar, Seq
from gitops_bot.core.errors import YamlPathError

_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]  # always matches

    def value(self) -> Node:
        self.skip()
        char = self.text[self.pos]
        if char == "{":
            return self.obj()
        if char == "[":
            return self.arr()
        if char == '"':
            start, raw = self.pos, self.string()
            return Scalar(raw, start, self.pos, "string")
        found = _LITERAL.match(self.text, self.pos)
        assert found is not None  # json.loads accepted the text
        self.pos = found.end()
        return Scalar(
            found[0], found.start(), found.end(), "number" if found[0][0] in "-0123456789" else "literal"
        )

    def string(self) -> str:
        found = _STRING.match(self.text, self.pos)
        assert found is not None
        self.pos = found.end()
        return str(json.loads(found[0]))

    def obj(self) -> Map:
        self.pos += 1
        entries: list[tuple[str, Node]] = []
        self.skip()
        while self.text[self.pos] != "}":
            self.skip()
            key = self.string()
            self.skip()
            self.pos += 1  # the colon
            entries.append((key, self.value()))
            self.skip()
            if self.text[self.pos] == ",":
                self.pos += 1
                self.skip()
        self.pos += 1
        return Map(tuple(entries))

    def arr(self) -> Seq:
        self.pos += 1
        items: list[Node] = []
        self.skip()
        while self.text[self.pos] != "]":
            items.append(self.value())
            self.skip()
            if self.text[self.pos] == ",":
                self.pos += 1
        self.pos += 1
        return Seq(tuple(items))


def parse(text: str) -> list[Node]:
    """The document as a span tree; YamlPathError when it is not strict JSON."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        raise YamlPathError(f"not valid JSON: {e}") from e
    return [_Reader(text).value()]


def render(old: Scalar, new: str) -> str:
    """A string stays a string; a number may only become another number."""
    if old.style == "string":
        return json.dumps(new, ensure_ascii=False)
    if old.style == "number" and _NUMBER.fullmatch(new):
        return new
    raise YamlPathError(f"the value is a JSON {old.style}; refusing to write {new!r} into it")
