"""YAML (one or many documents) into the span tree, and a scalar written back in its own style (pure)."""

import json
import re

import yaml

from gitops_bot.core.edits.tree import Map, Node, Scalar, Seq
from gitops_bot.core.errors import YamlPathError

# libyaml's loader gives the same marks ~20x faster; fall back where PyYAML was built without it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@:+-]+$")


def compose(text: str) -> list[yaml.Node]:
    """PyYAML's node graphs of every document; YamlPathError when the text is not YAML."""
    try:
        return list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.YAMLError as e:
        raise YamlPathError(f"not valid YAML: {e}") from e


def _count(node: yaml.Node, seen: dict[int, int]) -> None:
    seen[id(node)] = seen.get(id(node), 0) + 1
    if seen[id(node)] > 1:
        return  # an alias: its children were counted the first time
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _count(key, seen)
            _count(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _count(item, seen)


def _convert(node: yaml.Node, seen: dict[int, int]) -> Node:
    if isinstance(node, yaml.MappingNode):
        return Map(
            tuple(
                (str(k.value) if isinstance(k, yaml.ScalarNode) else "<complex key>", _convert(v, seen))
                for k, v in node.value
            )
        )
    if isinstance(node, yaml.SequenceNode):
        return Seq(tuple(_convert(item, seen) for item in node.value))
    return Scalar(
        value=str(node.value),
        start=node.start_mark.index,
        end=node.end_mark.index,
        style=getattr(node, "style", None) or "plain",
        shared=seen.get(id(node), 0) > 1,
    )


def parse(text: str) -> list[Node]:
    """Every document as a span tree."""
    out = []
    for doc in compose(text):
        if doc is None:
            continue
        seen: dict[int, int] = {}
        _count(doc, seen)
        out.append(_convert(doc, seen))
    return out


def _kind(text: str) -> type:
    try:
        return type(yaml.safe_load(text))
    except yaml.YAMLError:
        return object


def render(old: Scalar, new: str) -> str:
    """The new value written as the old one was: same quotes, plain when plain reads back the same."""
    if old.style in ("|", ">"):
        raise YamlPathError("the value is a block scalar; refusing to rewrite it")
    if old.style == "'" and "\n" not in new:
        return "'" + new.replace("'", "''") + "'"
    plain_ok = _PLAIN_SAFE.match(new) is not None and _kind(new) is _kind(old.value)
    if old.style == "plain" and plain_ok:
        return new
    return json.dumps(new, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar
