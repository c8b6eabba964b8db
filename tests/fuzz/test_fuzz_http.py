"""Fuzz the HTTP routes through Flask's test client: bad input is a 4xx, never a 5xx."""

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from github import Auth
from hypothesis import given
from hypothesis import strategies as st

from gitops_bot.adapters.github.api import GitHubAPI
from gitops_bot.adapters.github.inbox import Inbox
from gitops_bot.adapters.github.settings import GitHubSettings, make_client
from gitops_bot.adapters.journal import Journal
from gitops_bot.app.github.forge import GitHubForge
from gitops_bot.app.server import create_app
from gitops_bot.app.service import Bot
from gitops_bot_lab.fakes.github import webhook_headers
from tests.conftest import ALERTMANAGER, CONTRACTS, EngineFactory
from tests.fuzz.budget import EXECUTIONS, FUZZ, bodies, examples
from tests.gitfix import Remote

TOKEN, SECRET, REPO = "fuzz-token", "fuzz-secret", "Codertocat/Hello-World"
ALERT_EXAMPLE = json.loads((ALERTMANAGER / "firing-single-policy-violation.json").read_text())
COMMENT_EXAMPLE = examples(CONTRACTS / "github" / "webhooks" / "issue_comment.json")[0]
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"])


@pytest.fixture
def client(remote: Remote, engine_for: EngineFactory, tmp_path: Path) -> FlaskClient:
    """The real app over a real clone; the GitHub API client points nowhere (the routes never call it)."""
    settings = GitHubSettings(repo=REPO, api_url="http://127.0.0.1:9")
    api = GitHubAPI(make_client(settings, Auth.Token("unused")), REPO, bot_login="gitops-bot[bot]")
    forge = GitHubForge(api, secret=SECRET.encode(), inbox=Inbox(tmp_path / "inbox"))
    engine = engine_for(remote, forge=forge)
    forge.bind(engine)
    bot = Bot(engine, Journal(tmp_path / "journal"))  # not started: accepted alerts are only journaled
    return create_app(bot, token=TOKEN).test_client()


@FUZZ
@given(body=bodies(ALERT_EXAMPLE), content_type=CONTENT_TYPES)
def test_alert_route_answers_4xx_not_5xx(client: FlaskClient, body: bytes, content_type: str) -> None:
    EXECUTIONS["POST /api/v1/alerts"] += 1
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    response = client.post("/api/v1/alerts", data=body, headers=headers)
    assert response.status_code in (200, 400, 413), (response.status_code, response.get_data()[:300])


@FUZZ
@given(
    event=st.one_of(st.sampled_from(["issue_comment", "pull_request", "ping", "push"]), st.text(max_size=20)),
    body=bodies(COMMENT_EXAMPLE),
    signed=st.booleans(),
    delivery=st.booleans(),
)
def test_github_route_answers_4xx_not_5xx(
    client: FlaskClient, event: str, body: bytes, signed: bool, delivery: bool
) -> None:
    EXECUTIONS["POST /api/v1/github"] += 1
    headers = webhook_headers("x", body, SECRET if signed else None)
    # what an HTTP client can send at all: printable latin-1 (werkzeug refuses CR/LF in a header)
    printable = "".join(c for c in event if c.isprintable())
    headers["X-GitHub-Event"] = printable.encode("latin-1", "replace").decode("latin-1")
    if not delivery:
        headers.pop("X-GitHub-Delivery", None)
    response = client.post("/api/v1/github", data=body, headers=headers)
    assert response.status_code in (200, 202, 400, 401), (response.status_code, response.get_data()[:300])
    if not signed:
        assert response.status_code == 401
