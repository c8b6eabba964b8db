"""Push mode: Flux (generic-hmac Provider) and Argo CD notifications (the project's own body template)
tell the bot to look now; the bot checks who sent it, then re-reads the controller's API."""

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from gitops_bot.app.cluster_events_http import ClusterEventKeys
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot_lab.fakes.argocd import FakeArgoCD
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.stack import wait_until
from tests.cluster.conftest import ARGO_TOKEN, release
from tests.cluster.harness import ARGO_ENV, bot_config, phases, running
from tests.conftest import CONTRACTS, make_alert
from tests.gitfix import Remote

ROOT = Path(__file__).resolve().parents[2]
FLUX_KEY, NOTIFY_TOKEN = "flux-provider-hmac-key", "argocd-notifications-token"
APP = "agents-support"


def flux_example_event() -> bytes:
    """The example Event of Flux's own events spec, byte for byte."""
    text = (CONTRACTS / "flux" / "doc-events.md").read_text()
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    return block.group(1).encode()


def signed(body: bytes, key: str = FLUX_KEY) -> dict[str, str]:
    return {"X-Signature": "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()}


def render_shipped_template(app_doc: dict[str, Any]) -> bytes:
    """The body Argo CD notifications would send with manifests/argocd/argocd-notifications-cm.yaml."""
    cm = yaml.safe_load((ROOT / "manifests" / "argocd" / "argocd-notifications-cm.yaml").read_text())
    body = yaml.safe_load(cm["data"]["template.gitops-bot-event"])["webhook"]["gitops-bot"]["body"]

    def lookup(path: str) -> Any:
        value: Any = {"app": app_doc}
        for part in path.strip(".").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    body = re.sub(
        r"\{\{if ([^}\s]+)\}\}(.*?)\{\{end\}\}", lambda m: m.group(2) if lookup(m.group(1)) else "", body
    )
    return re.sub(r"\{\{([^}\s]+)\}\}", lambda m: str(lookup(m.group(1)) or ""), body).encode()


@pytest.fixture
def served(
    tmp_path: Path, remote: Remote, argo: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, str]]:
    """The bot with an hour-long cluster poll (only events and the landing wake it), served on loopback."""
    monkeypatch.setenv(ARGO_ENV, ARGO_TOKEN)
    runtime = bot_config(
        tmp_path,
        remote,
        cluster={"argocd": {"app": "agents-{agent}"}},
        extra={"argocd": {"url": argo.url, "token_env": ARGO_ENV}, "cluster": {"poll": "1h"}},
        timeout="1h",
    )
    keys = ClusterEventKeys(flux_hmac=FLUX_KEY, argo_token=NOTIFY_TOKEN)
    with running(runtime), LoopbackServer(create_app(runtime.bot, token=None, cluster_keys=keys)) as server:
        yield runtime, server.url


def test_argocd_notification_wakes_the_watch_when_a_person_syncs_the_revert(
    served: tuple[Runtime, str], remote: Remote, argo: FakeArgoCD
) -> None:
    runtime, url = served
    release(remote, "1.1.0")
    argo.tick()
    argo.app(APP).automated = False  # the bot may not sync; a person will
    runtime.bot.enqueue(make_alert("support", "1.1.0"))
    assert runtime.bot.wait_idle(30)
    sha = runtime.bot.recent[-1].commit
    assert sha is not None and runtime.cluster is not None
    wait_until(
        lambda: runtime.cluster and runtime.cluster.watches[sha].kicked, 10, 0.05, what="the first look"
    )
    argo.controller.request_sync(argo.app(APP), sha)  # `argocd app sync` by the on-call engineer
    argo.tick()
    body = render_shipped_template(argo.controller.document(argo.app(APP), "argocd"))
    assert json.loads(body)["revision"] == sha and json.loads(body)["phase"] == "Succeeded"
    wrong = requests.post(
        f"{url}/api/v1/argocd/events", data=body, headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert wrong.status_code == 401 and sha not in runtime.cluster.finished
    ok = requests.post(
        f"{url}/api/v1/argocd/events",
        data=body,
        headers={"Authorization": f"Bearer {NOTIFY_TOKEN}"},
        timeout=5,
    )
    assert ok.status_code == 200
    wait_until(lambda: sha in runtime.cluster.finished, 10, 0.05, what="the woken watch to finish")  # type: ignore[union-attr]
    assert runtime.cluster.finished[sha] == "healthy" and "healthy" in phases(remote, sha)


def test_flux_event_is_accepted_only_with_a_valid_signature(served: tuple[Runtime, str]) -> None:
    runtime, url = served
    body = flux_example_event()
    endpoint = f"{url}/api/v1/flux/events"
    assert requests.post(endpoint, data=body, headers=signed(body), timeout=5).status_code == 200
    assert requests.post(endpoint, data=body, headers=signed(body, "other-key"), timeout=5).status_code == 401
    assert requests.post(endpoint, data=body, timeout=5).status_code == 401
    tampered = body.replace(b"ValidationFailed", b"Progressing")
    assert requests.post(endpoint, data=tampered, headers=signed(body), timeout=5).status_code == 401
    not_an_event = b'{"hello": "world"}'
    assert (
        requests.post(endpoint, data=not_an_event, headers=signed(not_an_event), timeout=5).status_code == 400
    )
    metrics = runtime.bot.metrics.render().decode()
    assert 'gitops_bot_cluster_events_total{result="accepted",source="flux"} 1.0' in metrics
    assert 'gitops_bot_cluster_events_total{result="rejected",source="flux"} 3.0' in metrics


def test_event_endpoints_answer_404_when_not_configured(tmp_path: Path, remote: Remote) -> None:
    runtime = bot_config(
        tmp_path,
        remote,
        cluster={"argocd": {"app": "agents-{agent}"}},
        extra={"argocd": {"url": "http://127.0.0.1:9", "token_env": ARGO_ENV}},
    )
    with LoopbackServer(create_app(runtime.bot, token=None)) as server:
        for path in ("flux", "argocd"):
            assert (
                requests.post(f"{server.url}/api/v1/{path}/events", data=b"{}", timeout=5).status_code == 404
            )
