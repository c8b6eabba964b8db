"""Property tests for the editors: documents written in many styles, an edit changes exactly the
value's bytes (the expected file is the same document written with the new value) and re-parses,
with an independent parser, to the new value while everything else reads the same."""

import json
from collections.abc import Callable
from typing import Any

import hcl2
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_bot.core.edits import replace_field

VERSIONS = st.builds(
    lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 30), st.integers(0, 30), st.integers(0, 300)
)
WORDS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
EOL = st.sampled_from(["\n", "\r\n"])
COMMENT = st.sampled_from(["", "  # pinned", " # x: 'y'", "   #release-please"])


Oracle = Callable[[str], str]  # the document written with a given version
Generated = tuple[str, str, Oracle]  # file name, path, oracle


@st.composite
def yaml_docs(draw: st.DrawFn) -> Generated:
    eol, ind = draw(EOL), " " * draw(st.sampled_from([2, 4]))
    quote = draw(st.sampled_from(["", "'", '"']))
    comment, bom = draw(COMMENT), draw(st.booleans())
    siblings = draw(
        st.lists(WORDS, max_size=3, unique=True).map(lambda ws: [w for w in ws if w not in ("tag", "name")])
    )
    flow = draw(st.booleans())
    anchor = draw(st.booleans())
    before = [
        f"# generated in style {quote or 'plain'}",
        "defaults: &d {cpu: 1, mem: '2Gi'}" if anchor else "x: 1",
    ]

    def text(version: str) -> str:
        value = f"{quote}{version}{quote}"
        if flow:
            item = f"{ind}- {{name: agent, tag: {value}}}{comment}"
        else:
            item = f"{ind}- name: agent{eol}{ind}  tag: {value}{comment}"
        lines = [*before, "images:", f"{ind}- name: sidecar", f'{ind}  tag: "0.1.0"', item]
        lines += [f"{w}: {i}" for i, w in enumerate(siblings)]
        if anchor:
            lines.append("worker: {<<: *d, replicas: 2}")
        return ("\ufeff" if bom else "") + eol.join(lines) + eol

    return "doc.yaml", "images[name=agent].tag", text


@st.composite
def json_docs(draw: st.DrawFn) -> Generated:
    eol, ind = draw(EOL), " " * draw(st.sampled_from([0, 2, 4]))
    colon = draw(st.sampled_from([":", ": ", " : "]))
    note = draw(st.sampled_from(["plain", 'with \\"quotes\\"', "caf\\u00e9", "tab\\there"]))
    compact = draw(st.booleans())

    def text(version: str) -> str:
        item = f'{{"name"{colon}"agent", "version"{colon}"{version}"}}'
        other = f'{{"name"{colon}"other", "version"{colon}"9.9.9", "note"{colon}"{note}"}}'
        if compact:
            return f'{{"agents"{colon}[{other},{item}],"n"{colon}1}}{eol}'
        return (
            eol.join(
                [
                    "{",
                    f'{ind}"agents"{colon}[',
                    f"{ind}{ind}{other},",
                    f"{ind}{ind}{item}",
                    f"{ind}],",
                    f'{ind}"n"{colon}1',
                    "}",
                ]
            )
            + eol
        )

    return "fleet.json", "agents[name=agent].version", text


@st.composite
def hcl_docs(draw: st.DrawFn) -> Generated:
    eol = draw(EOL)
    pad = " " * draw(st.integers(1, 6))
    comment = draw(st.sampled_from(["", " # pinned", " // pinned", " /* pin */"]))
    heredoc, block = draw(st.booleans()), draw(st.booleans())

    def text(version: str) -> str:
        lines = ["# tfvars", f'agent_name{pad}= "billing"', f'agent_version{pad}= "{version}"{comment}']
        if heredoc:
            lines += ["prompt = <<-EOT", '  agent_version = "0.0.1"', "  EOT"]
        if block:
            lines += ['module "m" {', '  source  = "./m"', '  version = "3.0.0"', "}"]
        lines += ["tags = {", '  team = "payments"', "}"]
        return eol.join(lines) + eol

    return "agent.tfvars", "agent_version", text


def _yaml_read(text: str) -> tuple[Any, ...]:
    docs = yaml.safe_load(text.lstrip("\ufeff"))
    item = next(i for i in docs["images"] if i["name"] == "agent")
    rest = {k: v for k, v in docs.items() if k != "images"}
    return item["tag"], rest, docs["images"][0]


def _check(draw_doc: Generated, old: str, new: str) -> tuple[bytes, bytes]:
    file, path, text = draw_doc
    before = text(old).encode()
    after = replace_field(file, before, path, new)
    assert after == text(new).encode()  # exactly the value's bytes changed
    return before, after


@settings(max_examples=150, deadline=None)
@given(yaml_docs(), VERSIONS, VERSIONS)
def test_yaml_edit_changes_exactly_the_value(doc: Generated, old: str, new: str) -> None:
    before, after = _check(doc, old, new)
    was, now = _yaml_read(before.decode()), _yaml_read(after.decode())
    assert (was[0], now[0]) == (old, new)
    assert was[1:] == now[1:]  # every other key reads the same


@settings(max_examples=150, deadline=None)
@given(json_docs(), VERSIONS, VERSIONS)
def test_json_edit_changes_exactly_the_value(doc: Generated, old: str, new: str) -> None:
    before, after = _check(doc, old, new)
    was, now = json.loads(before), json.loads(after)
    assert now["agents"][1]["version"] == new
    now["agents"][1]["version"] = old
    assert now == was


@settings(max_examples=60, deadline=None)
@given(hcl_docs(), VERSIONS, VERSIONS)
def test_hcl_edit_changes_exactly_the_value(doc: Generated, old: str, new: str) -> None:
    before, after = _check(doc, old, new)
    was, now = hcl2.loads(before.decode()), hcl2.loads(after.decode())
    assert now["agent_version"] == f'"{new}"'
    now["agent_version"] = was["agent_version"]
    assert now == was
