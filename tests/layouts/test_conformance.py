"""Layout conformance: each real-world layout rolls back through the real engine (and one through a
real `gitops-bot serve`), and the revert commit changes exactly the rogue version's bytes."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from gitops_bot.adapters.gitrepo import GitRepo
from gitops_bot.app.policy_files import load_policies
from gitops_bot.app.policy_status import report, resolve_all
from gitops_bot.core.trailers import parse_trailers
from tests.conftest import EngineFactory, firing_body, make_alert
from tests.gitfix import Remote, git
from tests.layouts.layouts import BOM, LAYOUTS, Layout, alert_for, build_remote
from tests.processes import stop_serve
from tests.test_crash_and_cli import cli, free_port, post, start_server


def files_at(remote: Remote, rev: str) -> dict[str, bytes]:
    """Every file's exact bytes at a revision of the bare remote."""
    names = git(remote.bare, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {
        n: subprocess.run(
            ["git", "cat-file", "blob", f"{rev}:{n}"], cwd=remote.bare, capture_output=True, check=True
        ).stdout
        for n in names
    }


def assert_exact_revert(remote: Remote, layout: Layout, before_rev: str, after_rev: str) -> None:
    """The revert's diff is the listed version bytes, in the listed files, and nothing else."""
    before, after = files_at(remote, before_rev), files_at(remote, after_rev)
    expected = dict(before)
    for edit in layout.revert:
        assert expected[edit.file].count(edit.old) == 1, (edit.file, edit.old)
        expected[edit.file] = expected[edit.file].replace(edit.old, edit.new)
    assert after.keys() == before.keys()
    changed = sorted(n for n in after if after[n] != before[n])
    assert changed == sorted({e.file for e in layout.revert})
    for name in after:
        assert after[name] == expected[name], name


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_layout_rolls_back_exactly_the_version_bytes(
    layout: Layout, tmp_path: Path, engine_for: EngineFactory
) -> None:
    remote = build_remote(tmp_path, layout)
    release = remote.head("HEAD~1")
    head = remote.remote_head()
    policies = load_policies(layout.policies)
    engine = engine_for(remote, policies=policies)

    outcome = engine.handle(alert_for("billing-agent", layout.version, layout.labels))

    assert outcome.kind == "rolled_back", outcome.reason
    assert outcome.plan is not None and outcome.plan.culprit.sha == release
    assert git(remote.bare, "rev-parse", "main~1") == head  # one new commit, on top of the unrelated edit
    assert_exact_revert(remote, layout, head, "main")
    trailers = parse_trailers(git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", "main"))
    assert (trailers["Rollback-From"], trailers["Rollback-To"]) == (layout.version, layout.good)
    assert trailers["Rollback-Of"] == release


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_policy_check_lists_every_agent_with_what_it_reads(layout: Layout, tmp_path: Path) -> None:
    remote = build_remote(tmp_path, layout)
    repo = GitRepo(remote.url, "main", tmp_path / "check" / "repo")
    lines, problems = report(resolve_all(repo, repo.sync(), load_policies(layout.policies), layout.labels))
    assert problems == []
    billing = next(line for line in lines if "agent=billing-agent" in line and "env=staging" not in line)
    assert layout.version in billing
    assert any("agent=support-bot" in line and "2.2.0" in line for line in lines)


def test_crlf_and_bom_files_keep_their_line_ends_and_bom(tmp_path: Path, engine_for: EngineFactory) -> None:
    layouts = {layout.name: layout for layout in LAYOUTS}
    for name, file in (
        ("helm-values", "agents/billing-agent/values.yaml"),
        ("flux", "clusters/prod/agents/billing-agent.yaml"),
    ):
        remote = build_remote(tmp_path / name, layouts[name])
        outcome = engine_for(remote, policies=load_policies(layouts[name].policies), name=name).handle(
            make_alert("billing-agent", "1.5.0")
        )
        assert outcome.kind == "rolled_back", outcome.reason
        data = files_at(remote, "main")[file]
        if name == "helm-values":
            assert data.count(b"\r\n") == data.count(b"\n") > 10  # every line still CRLF
        else:
            assert data.startswith(BOM) and data.count(BOM) == 1


def test_digest_trailers_carry_the_full_references(tmp_path: Path, engine_for: EngineFactory) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "tag-digest")
    remote = build_remote(tmp_path, layout)
    outcome = engine_for(remote, policies=load_policies(layout.policies)).handle(
        make_alert("billing-agent", "1.1.0")
    )
    assert outcome.kind == "rolled_back", outcome.reason
    trailers = parse_trailers(git(remote.bare, "log", "-1", "--format=%(trailers:only,unfold)", "main"))
    assert trailers["Rollback-From-Ref"] == f"ghcr.io/acme/billing-agent:1.1.0@sha256:{'3' * 64}"
    assert trailers["Rollback-To-Ref"] == f"ghcr.io/acme/billing-agent:1.0.0@sha256:{'1' * 64}"


def test_an_alert_naming_the_digest_finds_a_tag_and_digest_pin(
    tmp_path: Path, engine_for: EngineFactory
) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "tag-digest")
    remote = build_remote(tmp_path, layout)
    outcome = engine_for(remote, policies=load_policies(layout.policies)).handle(
        make_alert("billing-agent", f"sha256:{'3' * 64}")
    )
    assert outcome.kind == "rolled_back", outcome.reason


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return str(r.read().decode())


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_shared_kustomize_overlay_rolls_back_through_a_real_serve_process(tmp_path: Path) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "kustomize")
    remote = build_remote(tmp_path / "gitops", layout)
    head = remote.remote_head()
    port = free_port()
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: '{remote.url}', branch: main, workdir: state/repo}}\n"
        f"server: {{listen: '127.0.0.1:{port}', alertmanager_token_env: TEST_TOKEN}}\n"
        f"policies: {layout.policies}\n"
    )
    proc = start_server(config, port)
    try:
        body = firing_body("billing-agent", "1.5.0", started=remote.clock)
        assert post(port, body) == 200
        assert _wait_for(lambda: remote.remote_head() != head, 30), "no rollback pushed"
        unknown = firing_body("nobody", "1.0.0", started=remote.clock, fingerprint="0000000000000001")
        assert post(port, unknown) == 200
        ignored = 'gitops_bot_alerts_ignored_total{reason="unknown_agent"} 1.0'
        assert _wait_for(lambda: ignored in _get(port, "/metrics"), 30), "unknown agent not counted"
        metrics = _get(port, "/metrics")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            health = json.loads(r.read())
    finally:
        stop_serve(proc)
    assert_exact_revert(remote, layout, head, "main")
    assert 'gitops_bot_policy_unresolved{policy="kustomize-prod"} 0.0' in metrics
    assert health == {"status": "ok", "ready": True}
    assert os.path.isdir(tmp_path / "state" / "repo")


def test_policy_check_cli_resolves_at_head_with_a_fixed_label(tmp_path: Path) -> None:
    layout = next(layout for layout in LAYOUTS if layout.name == "appset")
    remote = build_remote(tmp_path / "gitops", layout)
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(f"repo: {{url: '{remote.url}', workdir: state/repo}}\npolicies: {layout.policies}\n")

    everywhere = cli("policy", "check", "--config", str(config))
    prod = cli("policy", "check", "--config", str(config), "--label", "env=prod")

    assert everywhere.returncode == 0, everywhere.stderr
    assert "agent=billing-agent env=staging: 1.5.0" in everywhere.stdout
    assert prod.returncode == 0, prod.stderr
    assert "agent=billing-agent env=prod: 1.5.0" in prod.stdout and "env=staging" not in prod.stdout
    assert "1 policy OK" in prod.stdout
    shifted = cli("policy", "check", "--config", str(config), "--label", "env=qa")
    assert shifted.returncode == 1 and "appset-envs resolves no agent" in shifted.stderr
