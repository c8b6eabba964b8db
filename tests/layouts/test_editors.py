"""The editors on hand-written corner cases: what they read, what they rewrite, what they refuse."""

import pytest

from gitops_bot.core.edits import Outcome, read_field, replace_field, resolve_file
from gitops_bot.core.errors import YamlPathError

MAIN_TF = b"""terraform {
  required_version = ">= 1.6"
}

variable "agent_version" {
  type    = string
  default = "1.4.0" # bumped by CI
}

locals {
  fleet = [
    { name = "billing-agent", version = "1.4.0" },
    { name = "support-bot",   version = "2.1.0" },
  ]
  banner = "agent ${var.agent_version}"
}

module "billing" {
  source  = "./modules/agent"
  version = "1.4.0"
  count   = var.enabled ? 1 : 0
}
"""


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("variable.agent_version.default", "1.4.0"),
        ("locals.fleet[name=support-bot].version", "2.1.0"),
        ("module.billing.version", "1.4.0"),
        ("terraform.required_version", ">= 1.6"),
    ],
)
def test_hcl_values_in_blocks_objects_and_tuples_are_read_and_rewritten(path: str, value: str) -> None:
    found = read_field("main.tf", MAIN_TF, path, named=True)
    assert found.outcome is Outcome.FOUND and found.scalar is not None and found.scalar.value == value
    out = replace_field("main.tf", MAIN_TF, path, "9.9.9")
    assert read_field("main.tf", out, path, named=True).scalar.value == "9.9.9"  # type: ignore[union-attr]
    assert len(out) == len(MAIN_TF) - len(value) + len("9.9.9")


@pytest.mark.parametrize(
    ("path", "why"),
    [("locals.banner", "template"), ("module.billing.count", "refusing to guess")],
)
def test_hcl_templates_and_expressions_are_never_rewritten(path: str, why: str) -> None:
    with pytest.raises(YamlPathError, match=why):
        replace_field("main.tf", MAIN_TF, path, "1.0.0")


def test_hcl_selector_enumerates_agents_from_a_tuple() -> None:
    found = resolve_file("main.tf", MAIN_TF, "locals.fleet[name={agent}].version", {}, named=False)
    assert sorted((r.bindings["agent"], r.scalar.value) for r in found if r.scalar) == [
        ("billing-agent", "1.4.0"),
        ("support-bot", "2.1.0"),
    ]


def test_json_numbers_stay_numbers_and_strings_stay_strings() -> None:
    doc = b'{"replicas": 3, "tag": "1.4.0", "dup": 1, "dup": 2}\n'
    assert replace_field("a.json", doc, "replicas", "4") == doc.replace(b"3", b"4", 1)
    with pytest.raises(YamlPathError, match="JSON number"):
        replace_field("a.json", doc, "replicas", "four")
    assert (
        read_field("a.json", doc, "dup", named=True).outcome is Outcome.REFUSED
    )  # last-wins would be a guess


def test_yaml_anchor_shared_with_another_key_is_not_rewritten() -> None:
    doc = b"base: &v '1.4.0'\nimage: {tag: *v}\n"
    with pytest.raises(YamlPathError, match="anchor"):
        replace_field("v.yaml", doc, "base", "1.5.0")


def test_yaml_value_found_in_two_documents_is_refused() -> None:
    doc = b"kind: A\nspec: {tag: '1'}\n---\nkind: B\nspec: {tag: '2'}\n"
    found = read_field("v.yaml", doc, "spec.tag", named=True)
    assert found.outcome is Outcome.REFUSED and "more than one document" in found.reason


def test_yaml_plain_value_that_would_change_type_is_quoted() -> None:
    doc = b"tag: 1.4.0 # x\n"
    assert replace_field("v.yaml", doc, "tag", "1.10") == b'tag: "1.10" # x\n'
