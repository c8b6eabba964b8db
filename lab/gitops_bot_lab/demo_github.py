"""`make demo-github`: github mode against the fake GitHub: PR body, veto countdown, /approve, merge."""

import hashlib
import hmac
import importlib
import json
import logging
import os
import secrets
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gitops_bot.app.config import load_config
from gitops_bot.app.server import create_app
from gitops_bot.app.wiring import Runtime
from gitops_bot.core.alerts import parse_notification
from gitops_bot.core.github.body import read_ticket
from gitops_bot.core.github.pr_state import Ticket
from gitops_bot.core.statekey import StateKeys
from gitops_bot_lab.demo_repo import build_demo_remote
from gitops_bot_lab.fakes.loopback import LoopbackServer
from gitops_bot_lab.paths import CAPTURES, POLICIES

ALERT = CAPTURES / "firing-single-policy-violation.json"
EXAMPLE = POLICIES / "examples" / "github-veto-window.yaml"
TOKEN, SECRET, WINDOW = "demo-alert-token", "demo-webhook-secret", 12
# What the bot calls, for routing the fake when GitHub's OpenAPI description is not on disk.
R = "/repos/{owner}/{repo}"
ROUTES = [
    ("get", "/user", "users/get-authenticated"),
    ("get", f"{R}/pulls", "pulls/list"),
    ("post", f"{R}/pulls", "pulls/create"),
    ("get", f"{R}/pulls/{{pull_number}}", "pulls/get"),
    ("put", f"{R}/pulls/{{pull_number}}/merge", "pulls/merge"),
    ("get", f"{R}/issues", "issues/list-for-repo"),
    ("patch", f"{R}/issues/{{issue_number}}", "issues/update"),
    ("get", f"{R}/issues/{{issue_number}}/comments", "issues/list-comments"),
    ("post", f"{R}/issues/{{issue_number}}/comments", "issues/create-comment"),
    ("post", f"{R}/issues/{{issue_number}}/labels", "issues/add-labels"),
    ("put", f"{R}/issues/{{issue_number}}/labels", "issues/set-labels"),
    ("get", f"{R}/labels", "issues/list-labels-for-repo"),
    ("post", f"{R}/labels", "issues/create-label"),
    ("get", f"{R}/collaborators/{{username}}/permission", "repos/get-collaborator-permission-level"),
    ("post", f"{R}/statuses/{{sha}}", "repos/create-commit-status"),
]


def routing_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, template, op_id in ROUTES:
        names = [p.strip("{}") for p in template.split("/") if p.startswith("{")]
        params = [
            {
                "name": n,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if n.endswith("number") else "string"},
            }
            for n in names
        ]
        paths.setdefault(template, {})[method] = {"operationId": op_id, "parameters": params}
    return {"openapi": "3.0.3", "paths": paths}


def _fake(bare: Path) -> tuple[Any, bool]:
    """The fake GitHub from tests/fakes, validating against GitHub's description when it is on disk."""
    openapi = importlib.import_module("gitops_bot_lab.fakes.github.openapi")
    fake_cls = importlib.import_module("gitops_bot_lab.fakes.github").FakeGitHub
    people = {"alice": "maintain", "mallory": "read"}
    try:
        openapi.contracts_dir()
    except FileNotFoundError:
        routing = openapi.GitHubContract(routing_spec())
        fake = fake_cls(
            bare, owner="acme", repo="agents-gitops", permissions=people, validate=False, contract_obj=routing
        )
        return fake.start(), False
    return fake_cls(bare, owner="acme", repo="agents-gitops", permissions=people).start(), True


def _comment(gh: Any, login: str, number: int, body: str, validated: bool) -> bytes:
    """An issue_comment delivery: GitHub's real example filled in, or a minimal one without contracts."""
    if validated:
        return json.dumps(gh.add_comment_as(login, number, body)).encode()
    user = {"login": login, "id": 1, "type": "User"}
    payload = {
        "action": "created",
        "repository": {"full_name": gh.full_name},
        "issue": {"number": number, "pull_request": {"url": f"{gh.api_repo_url}/pulls/{number}"}},
        "comment": {"id": int(time.time_ns() % 10**9), "user": user, "body": body, "created_at": "now"},
    }
    return json.dumps(payload).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return f"{response.status} {json.loads(response.read())['status']}"


def _wait(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: timed out waiting for {what}")
        time.sleep(0.1)


def _setup(root: Path, gh: Any, bare: Path) -> Path:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["action"]["vetoWindow"] = f"{WINDOW}s"  # 5m in the example; short for the demo
    (root / "policies").mkdir()
    (root / "policies" / "agents.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    os.environ["DEMO_GITHUB_TOKEN"], os.environ["DEMO_GITHUB_WEBHOOK_SECRET"] = gh.token, SECRET
    os.environ.setdefault("GITOPS_BOT_STATE_KEY", secrets.token_hex(16))  # signs tags and PR tickets
    config = root / "gitops-bot.yaml"
    config.write_text(
        f"repo: {{url: 'file://{bare}', branch: main, workdir: state/repo}}\n"
        "forge:\n  kind: github\n  github:\n"
        f"    repo: {gh.full_name}\n    api_url: {gh.url}\n    token_env: DEMO_GITHUB_TOKEN\n"
        "    webhook_secret_env: DEMO_GITHUB_WEBHOOK_SECRET\n    bot_login: gitops-bot[bot]\n    poll: 500ms\n"
        "server: {listen: '127.0.0.1:0', alertmanager_token_env: DEMO_ALERT_TOKEN}\npolicies: policies/\n"
    )
    return config


def run_github_demo() -> int:
    """Serve the bot in github mode, send the captured alert, show the PR, the countdown and the merge."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-demo-github-"))
    alert = ALERT.read_bytes()
    bare = build_demo_remote(root, alert_started=parse_notification(alert).alerts[0].starts_at)
    gh, validated = _fake(bare)
    print(f"== fake GitHub {gh.full_name} at {gh.url}, backed by {bare}")
    if not validated:
        print(
            "== GitHub's OpenAPI description (tests/contracts, in a checkout) not found: the fake runs WITHOUT validation"
        )
    runtime = Runtime(load_config(_setup(root, gh, bare)))
    runtime.start()
    server = LoopbackServer(create_app(runtime.bot, token=TOKEN))
    server.start()
    url = f"{server.url}/api/v1"
    try:
        return _story(gh, url, bare, validated, runtime.bot.engine.keys)
    finally:
        server.stop()
        runtime.stop()
        gh.stop()


def _story(gh: Any, url: str, bare: Path, validated: bool, keys: StateKeys) -> int:
    print(
        "== POST the captured alert (billing-agent 2026.06.0):",
        _post(f"{url}/alerts", ALERT.read_bytes(), {"Authorization": f"Bearer {TOKEN}"}),
    )
    _wait("the rollback PR", lambda: 1 in gh.issues and any(c.issue_number == 1 for c in gh.comments))
    issue = gh.issues[1]
    print(f"\n== PR #1 {issue.title!r}  labels: {', '.join(sorted(issue.labels))}")
    print(f"   head {gh.pull(1)['head']['ref']} -> base main\n")
    print((issue.body or "").split("<!-- gitops-bot:ticket")[0].rstrip())
    print("<!-- + a hidden ticket (mode, deadline, alert) the bot reads back after a restart -->\n")
    ticket = read_ticket(issue.body or "", keys)
    for _ in range(3):
        due = ticket.deadline if isinstance(ticket, Ticket) else None
        left = (due.timestamp() - time.time()) if due else 0
        print(f"== veto window: merges in {left:4.1f}s unless someone comments /veto")
        time.sleep(1.5)

    def comment(login: str, text: str) -> None:
        body = _comment(gh, login, 1, text, validated)
        headers = _hook_headers(body)
        print(
            f"== @{login} comments {text!r} -> POST /api/v1/github: {_post(f'{url}/github', body, headers)}"
        )

    comment("mallory", "/approve")
    _wait("the refusal", lambda: any(c.body.startswith("@mallory") for c in gh.comments))
    comment("alice", "/approve")
    _wait("the merge", lambda: gh.pull(1)["merged"])
    return _show_result(gh, bare, validated)


def _show_result(gh: Any, bare: Path, validated: bool) -> int:
    """The PR conversation, the landed commit with its trailers, and the API calls used."""
    print("\n== conversation on PR #1")
    for c in gh.comments:
        print(f"  @{c.user}: {c.body.split('<!--')[0].strip()}")
    print("\n== main after the merge (git log -1): the trailers are on the first-parent commit")
    log = subprocess.run(
        ["git", "--git-dir", str(bare), "log", "-1", "main"], capture_output=True, text=True, check=True
    )
    print(log.stdout)
    print(f"== GitHub API calls in this demo: {len(gh.calls)}")
    for method, path in sorted({(c.method, c.path) for c in gh.calls}):
        print(f"  {sum(1 for c in gh.calls if (c.method, c.path) == (method, path))} x {method} {path}")
    if validated and gh.contract_errors:
        print("contract errors:", *gh.contract_errors, sep="\n  ")
        return 1
    return 0 if "Approved-By: alice" in log.stdout else 1


def _hook_headers(body: bytes) -> dict[str, str]:
    """What GitHub sends with a delivery, signed with the webhook secret."""
    return {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
