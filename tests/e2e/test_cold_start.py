"""A new bot without a clone serves at once: alerts are journaled while the full clone is made."""

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.crashlab import GOOD, Lab, until
from tests.gitfix import git, make_remote


def health(lab: Lab) -> dict[str, object]:
    with urllib.request.urlopen(f"{lab.url}/healthz", timeout=5) as r:
        assert r.status == 200
        data: dict[str, object] = json.loads(r.read())
        return data


def audit_status(lab: Lab) -> int:
    return status_of(lab, "/api/v1/rollbacks")


def status_of(lab: Lab, path: str) -> int:
    try:
        with urllib.request.urlopen(f"{lab.url}{path}", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_alerts_are_journaled_while_the_clone_is_made_and_rolled_back_once_it_is(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, {"billing-agent": GOOD, "support-bot": "v1.9.3"})
    lab = Lab(tmp_path / "bot", remote, None)
    lab.root.mkdir()
    lab.configure({"mode": "auto"})
    leftover = lab.root / "state" / "repo.cloning"  # what a bot killed mid-clone leaves behind
    leftover.mkdir(parents=True)
    (leftover / "half-written").write_text("x")
    lab.ship_rogue()
    away = remote.bare.with_name("away.git")
    remote.bare.rename(away)  # the clone cannot finish until the remote is back
    try:
        lab.serve()
        assert {k: health(lab)[k] for k in ("status", "ready")} == {"status": "cloning", "ready": False}
        until("the failed clone shown", lambda: "cannot clone" in str(health(lab).get("lastCloneError")))
        assert lab.alert() == 200  # accepted durably before any clone exists
        assert audit_status(lab) == 503
        assert status_of(lab, "/readyz") == 200 and status_of(lab, "/livez") == 200  # Service keeps it
        away.rename(remote.bare)
        until("the rollback after the clone", lambda: len(lab.rollbacks_on_main()) == 1, timeout=30)
        assert health(lab) == {"status": "ok", "ready": True}
        assert audit_status(lab) == 200
        # Written in the background after the clone; on a busy 2-core machine that has taken over 15 s.
        until("the changed-path index", lambda: _config(lab, "fetch.writeCommitGraph") == "true", timeout=60)
    finally:
        lab.stop()
    clone = lab.root / "state" / "repo"
    assert git(clone, "rev-parse", "--is-shallow-repository") == "false"
    assert (
        _config(lab, "remote.origin.promisor") == ""
        and _config(lab, "remote.origin.partialclonefilter") == ""
    )
    assert git(clone, "rev-list", "--count", "origin/main") == git(remote.bare, "rev-list", "--count", "main")
    assert not leftover.exists()
    assert GOOD in remote.show("agents/billing-agent/deployment.yaml")


def _config(lab: Lab, key: str) -> str:
    clone = lab.root / "state" / "repo"
    try:
        return git(clone, "config", "--get", key)
    except subprocess.CalledProcessError:  # git config --get exits 1 for a key that is not set
        return ""
