"""Every silent misconfiguration the layout survey found is now a loud error or an escalation."""

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.config import parse_config
from gitops_bot.app.engine import Engine
from gitops_bot.app.forge.local import LocalForge
from gitops_bot.app.policy_files import check_policies, load_policies
from gitops_bot.app.policy_status import PolicyMonitor, report, resolve_all
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from gitops_bot.core.errors import ConfigError
from gitops_bot.core.policy import parse_policy
from tests.conftest import POLICY_DOC, EngineFactory, make_alert
from tests.layouts.layouts import FIXTURES, LAYOUTS, Edit, alert_for, apply, build_remote, commit

KUSTOMIZE = next(layout for layout in LAYOUTS if layout.name == "kustomize")
HELM = next(layout for layout in LAYOUTS if layout.name == "helm-values")
APPSET = next(layout for layout in LAYOUTS if layout.name == "appset")


def problems_of(spec: dict[str, Any]) -> list[str]:
    doc = copy.deepcopy(POLICY_DOC)
    doc["spec"] = spec
    policy, problems = parse_policy(doc, where="p.yaml (document 1)")
    assert policy is None
    return problems


def spec_with(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = copy.deepcopy(POLICY_DOC["spec"])
    spec |= changes
    return spec


@pytest.mark.parametrize(
    ("spec", "key", "hint"),
    [
        (spec_with(limit={"perAgent": {"max": 1, "window": "1h"}}), "spec.limit", "did you mean 'limits'?"),
        (
            spec_with(action={"mode": "veto-window", "vetowindow": "5m"}),
            "spec.action.vetowindow",
            "'vetoWindow'",
        ),
        (spec_with(verify={"stillFiring": 'up{job="x"}'}), "spec.verify.stillFiring", "'still_firing'"),
        (spec_with(action={"mode": "veto_window"}), "spec.action.mode", "did you mean 'veto-window'?"),
        (spec_with(limits={"perAgent": {"max": "1", "window": "1h"}}), "spec.limits.perAgent.max", "integer"),
    ],
)
def test_a_misspelt_or_mistyped_key_fails_with_file_document_key_and_a_suggestion(
    spec: dict[str, Any], key: str, hint: str
) -> None:
    problems = problems_of(spec)
    assert any(p.startswith(f"p.yaml (document 1): {key}: ") and hint in p for p in problems), problems


def test_a_field_that_names_no_agent_or_an_unknown_format_is_refused() -> None:
    fields = [
        {"file": "overlays/prod/kustomization.yaml", "path": "images[name=ghcr.io/acme/bot].newTag"},
        {"file": "agents/{agent}/agent.toml", "path": "version"},
    ]
    spec = spec_with(agent={"label": "agent", "paths": ["**"], "version": {"fields": fields}})
    problems = problems_of(spec)
    assert any("fields[0].file: neither file nor path names {agent}" in p for p in problems), problems
    assert any("fields[1].file" in p and "unknown format" in p for p in problems), problems


def test_unknown_config_keys_fail_with_a_suggestion(tmp_path: Path) -> None:
    raw = {"repo": {"url": "file:///r.git", "max_files_bytes": 10}, "polices": "p/"}
    with pytest.raises(ConfigError) as error:
        parse_config(raw, base=tmp_path)
    text = str(error.value)
    assert "repo.max_files_bytes: unknown key 'max_files_bytes'; did you mean 'max_file_bytes'?" in text
    assert "polices: unknown key 'polices'; did you mean 'policies'?" in text
    github = {
        "repo": {"url": "file:///r.git"},
        "forge": {"kind": "github", "github": {"repo": "a/b", "tokenenv": "X"}},
    }
    with pytest.raises(ConfigError, match=r"forge\.github\.tokenenv: unknown key .*did you mean 'token_env'"):
        parse_config(github, base=tmp_path)


def test_the_file_size_cap_is_configurable_and_checked(tmp_path: Path) -> None:
    config = parse_config({"repo": {"url": "file:///r.git", "max_file_bytes": 4096}}, base=tmp_path)
    assert config.max_file_bytes == 4096
    with pytest.raises(ConfigError, match="max_file_bytes"):
        parse_config({"repo": {"url": "file:///r.git", "max_file_bytes": 10}}, base=tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"# Production overlay", b"# Production overlay (caf\xe9, Latin-1)", "not UTF-8"),
        (
            b"images:\n",
            b"images:\n  - {name: ghcr.io/acme/billing-agent, newTag: 1.5.0}\n",
            "more than one list item",
        ),
    ],
    ids=["non-utf8", "ambiguous-selector"],
)
def test_a_file_the_bot_would_damage_or_guess_at_escalates_and_pushes_nothing(
    tmp_path: Path, engine_for: EngineFactory, old: bytes, new: bytes, why: str
) -> None:
    remote = build_remote(tmp_path, KUSTOMIZE)
    apply(remote.dev, (Edit("overlays/prod/kustomization.yaml", old, new),))
    commit(remote, "Edit the overlay")
    head = remote.remote_head()
    outcome = engine_for(remote, policies=load_policies(KUSTOMIZE.policies)).handle(
        make_alert("billing-agent", "1.5.0")
    )
    assert (outcome.kind, outcome.code) == ("escalated", "unreadable") and why in outcome.reason, (
        outcome.reason
    )
    assert remote.remote_head() == head


def test_a_duplicate_key_on_the_path_escalates_instead_of_reading_the_first(
    tmp_path: Path, engine_for: EngineFactory
) -> None:
    remote = build_remote(tmp_path, HELM)
    apply(
        remote.dev,
        (Edit("agents/billing-agent/values.yaml", b"  pullPolicy: IfNotPresent", b"  tag: '1.4.0'"),),
    )
    commit(remote, "Oops: a second image.tag")
    head = remote.remote_head()
    outcome = engine_for(remote, policies=load_policies(HELM.policies)).handle(
        make_alert("billing-agent", "1.5.0")
    )
    assert outcome.kind == "escalated" and "duplicate key at image.tag" in outcome.reason, outcome.reason
    assert remote.remote_head() == head


def test_a_file_over_the_size_cap_escalates(tmp_path: Path) -> None:
    remote = build_remote(tmp_path, KUSTOMIZE)
    path = remote.dev / "overlays/prod/kustomization.yaml"
    path.write_bytes(path.read_bytes() + b"# padding\n" * 500)
    commit(remote, "Grow the overlay")
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo", max_file_bytes=2048)
    outcome = Engine(repo, LocalForge(), load_policies(KUSTOMIZE.policies)).handle(
        make_alert("billing-agent", "1.5.0")
    )
    assert outcome.kind == "escalated" and "over the 2048-byte cap" in outcome.reason, outcome.reason


def test_a_known_agent_whose_version_field_is_gone_escalates(
    tmp_path: Path, engine_for: EngineFactory
) -> None:
    remote = build_remote(tmp_path, HELM)
    apply(remote.dev, (Edit("agents/billing-agent/values.yaml", b"  tag: '1.5.0'", b"  digest: x"),))
    commit(remote, "Move to digests")
    outcome = engine_for(remote, policies=load_policies(HELM.policies)).handle(
        make_alert("billing-agent", "1.5.0")
    )
    assert (outcome.kind, outcome.code) == ("escalated", "unreadable"), outcome.reason
    assert "image.tag not found" in outcome.reason


def test_an_agent_no_file_or_selector_names_stays_ignored(tmp_path: Path, engine_for: EngineFactory) -> None:
    remote = build_remote(tmp_path, KUSTOMIZE)
    outcome = engine_for(remote, policies=load_policies(KUSTOMIZE.policies)).handle(
        make_alert("nobody", "1.0.0")
    )
    assert (outcome.kind, outcome.code) == ("ignored", "unknown_agent"), outcome.reason


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        ({}, "label env is missing"),
        ({"env": "../prod"}, "not a plain name"),
        ({"env": "prod\n"}, "not a plain name"),
    ],
)
def test_a_template_label_missing_or_unsafe_escalates(
    tmp_path: Path, engine_for: EngineFactory, labels: dict[str, str], why: str
) -> None:
    remote = build_remote(tmp_path, APPSET)
    outcome = engine_for(remote, policies=load_policies(APPSET.policies)).handle(
        alert_for("billing-agent", "1.5.0", labels)
    )
    assert (outcome.kind, outcome.code) == ("escalated", "bad_label") and why in outcome.reason, (
        outcome.reason
    )


def test_a_v_prefixed_value_without_version_prefix_is_loud_not_stale(
    tmp_path: Path, engine_for: EngineFactory
) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "argocd")
    remote = build_remote(tmp_path, layout)
    doc = yaml.safe_load((layout.policies / "policy.yaml").read_text())
    doc["spec"]["agent"]["version"]["fields"] = [
        {"file": "argocd/apps/{agent}.yaml", "path": "spec.source.targetRevision"}
    ]
    policy, errors = parse_policy(doc, where="test")
    assert policy is not None, errors
    outcome = engine_for(remote, policies=(policy,)).handle(make_alert("billing-agent", "1.5.0"))
    assert outcome.kind == "escalated" and "versionPrefix: v" in outcome.reason, outcome.reason


def _shifted_policy(tmp_path: Path) -> Path:
    text = (
        (FIXTURES / "kustomize" / "policy.yaml")
        .read_text()
        .replace("ghcr.io/acme/{agent}", "ghcr.io/acme-corp/{agent}")
    )
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(text)
    return tmp_path / "policies"


def test_policy_check_fails_when_a_policy_resolves_no_agent(tmp_path: Path) -> None:
    remote = build_remote(tmp_path / "gitops", KUSTOMIZE)
    policies, problems = check_policies(_shifted_policy(tmp_path))
    assert problems == []  # the schema is happy: only the repo shows the mistake
    repo = GitRepo(remote.url, "main", tmp_path / "check" / "repo")
    lines, problems = report(resolve_all(repo, repo.sync(), policies, {}))
    assert "policy kustomize-prod: policy kustomize-prod resolves no agent" in problems
    assert lines == ["policy kustomize-prod: 0 agent(s)"]


def test_policy_check_names_a_field_that_reads_for_no_agent(tmp_path: Path) -> None:
    remote = build_remote(tmp_path / "gitops", HELM)
    doc = yaml.safe_load((HELM.policies / "policy.yaml").read_text())
    doc["spec"]["agent"]["version"]["fields"].append(
        {"file": "agents/{agent}/values.yaml", "path": "image.digest"}
    )
    policy, errors = parse_policy(doc, where="test")
    assert policy is not None, errors
    repo = GitRepo(remote.url, "main", tmp_path / "check" / "repo")
    _, problems = report(resolve_all(repo, repo.sync(), (policy,), {}))
    assert problems == [
        "policy helm-values: field 1 (agents/{agent}/values.yaml image.digest) reads a version for no agent"
    ]


def test_shipped_schema_json_is_the_generated_one_and_validates_the_shipped_policies() -> None:
    import json

    import jsonschema

    from gitops_bot.core.policy_schema import json_schema

    root = Path(__file__).resolve().parents[2]
    committed = json.loads((root / "policies" / "schema.json").read_text())
    assert committed == json_schema(), "regenerate: gitops-bot policy schema > policies/schema.json"
    validator = jsonschema.Draft202012Validator(committed)
    for file in [*(root / "policies").glob("**/*.yaml"), *FIXTURES.glob("*/policy.yaml")]:
        for doc in yaml.safe_load_all(file.read_text()):
            assert list(validator.iter_errors(doc)) == [], file
    typo = copy.deepcopy(POLICY_DOC)
    typo["spec"]["limit"] = typo["spec"].pop("limits")
    assert any("limit" in e.message for e in validator.iter_errors(typo))


def test_serve_escalates_a_policy_that_resolves_no_agent_once_and_shows_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    remote = build_remote(tmp_path / "gitops", KUSTOMIZE)
    repo = GitRepo(remote.url, "main", tmp_path / "bot" / "repo")
    bot = Bot(
        Engine(repo, LocalForge(), load_policies(_shifted_policy(tmp_path))), Journal(tmp_path / "journal")
    )
    monitor = PolicyMonitor(bot)
    with caplog.at_level(logging.WARNING, logger="gitops_bot"):
        monitor.check(sync=True)
        apply(remote.dev, (Edit("overlays/prod/kustomization.yaml", b"count: 4", b"count: 5"),))
        commit(remote, "Scale billing")
        monitor.check(sync=True)  # a new head, still unresolved: no second escalation
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "ESCALATED policy kustomize-prod resolves no agent" in caplog.records[0].message
    assert len([r for r in caplog.records if "ESCALATED" in r.message]) == 1
    assert 'gitops_bot_policy_unresolved{policy="kustomize-prod"} 1.0' in bot.metrics.render().decode()
    health = create_app(bot, token=None).test_client().get("/healthz")
    assert "kustomize-prod" in health.get_json()["unresolvedPolicies"]
