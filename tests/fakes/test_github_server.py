"""Tests of the fake GitHub itself, driven through PyGithub for real over loopback HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import github
import pytest
import requests
from github import Auth, Github, GithubException

from gitops_bot_lab.fakes.github import FakeGitHub, sign, webhook_headers
from gitops_bot_lab.fakes.github.openapi import NO_BODY, ContractError, contract

MANIFEST = "replicas: 2\nimage: agent:v1\nmodel: gpt-small\n"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Agent Pusher",
    "GIT_AUTHOR_EMAIL": "pusher@example.com",
    "GIT_COMMITTER_NAME": "Agent Pusher",
    "GIT_COMMITTER_EMAIL": "pusher@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
HTTP_TIMEOUT_S = 10


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def gh(tmp_path: Path) -> Iterator[FakeGitHub]:
    """A running fake with a seeded `main` and a few users."""
    server = FakeGitHub(
        tmp_path / "gitops.git",
        init_files={"agents/agent-a.yaml": MANIFEST, "README.md": "gitops\n"},
        permissions={"alice": "maintain", "bob": "triage", "mallory": "read", "eve": "none"},
    )
    with server:
        yield server


@pytest.fixture
def api(gh: FakeGitHub) -> Github:
    """PyGithub pointed at the fake; no retries and no client-side throttling sleeps."""
    client = gh.client()
    assert isinstance(client, Github)
    return client


@pytest.fixture
def repo(api: Github, gh: FakeGitHub) -> github.Repository.Repository:
    """The fake's repository through PyGithub."""
    return api.get_repo(gh.full_name)


def git(*args: str, cwd: Path) -> str:
    """Run a real git command (bounded) and return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, f"git {args} failed: {proc.stderr}"
    return proc.stdout.strip()


def push_branch(gh: FakeGitHub, work: Path, branch: str, files: Mapping[str, str], message: str) -> str:
    """Clone the bare repo, commit on top of origin/main (or the branch), push; return sha."""
    clone = work / "clone"
    if not clone.exists():
        git("clone", "--quiet", gh.clone_url, str(clone), cwd=work)
    git("fetch", "--quiet", "origin", cwd=clone)
    start = f"origin/{branch}" if gh.branch_sha(branch) else "origin/main"
    git("checkout", "--quiet", "-B", branch, start, cwd=clone)
    for name, content in files.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text(content)
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", message, cwd=clone)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone)


def open_rollback_pr(
    gh: FakeGitHub, repo: github.Repository.Repository, work: Path, branch: str = "rollback/agent-a"
) -> github.PullRequest.PullRequest:
    """Push a revert-like branch with real git and open a PR for it through the API."""
    push_branch(gh, work, branch, {"agents/agent-a.yaml": MANIFEST.replace("v1", "v0")}, "Pin v0")
    return repo.create_pull(base="main", head=branch, title="Roll back agent-a", body="why")


def headers(gh: FakeGitHub) -> dict[str, str]:
    """Auth headers for raw requests."""
    return {"Authorization": f"Bearer {gh.token}", "Accept": "application/vnd.github+json"}


# -- repository, user, refs -------------------------------------------------------------------


def test_repo_user_and_refs_reflect_the_bare_repo(
    gh: FakeGitHub, api: Github, repo: github.Repository.Repository
) -> None:
    """Repo metadata, /user, and git refs read and write the real bare repository."""
    assert repo.full_name == "acme/gitops"
    assert repo.default_branch == "main"
    assert api.get_user().login == "gitops-bot[bot]"
    assert api.get_user("alice").name == "alice"
    main_sha = gh.branch_sha("main")
    assert main_sha is not None
    assert repo.get_git_ref("heads/main").object.sha == main_sha
    assert repo.get_branch("main").commit.sha == main_sha

    ref = repo.create_git_ref("refs/heads/rollback/nested-name", main_sha)
    assert gh.git.out("rev-parse", "refs/heads/rollback/nested-name") == main_sha
    assert repo.get_git_ref("heads/rollback/nested-name").ref == "refs/heads/rollback/nested-name"
    with pytest.raises(GithubException) as dup:
        repo.create_git_ref("refs/heads/rollback/nested-name", main_sha)
    assert dup.value.status == 422 and dup.value.data["message"] == "Reference already exists"

    ref.delete()
    assert gh.branch_sha("rollback/nested-name") is None
    with pytest.raises(github.UnknownObjectException):
        repo.get_git_ref("heads/rollback/nested-name").object  # noqa: B018 - lazy fetch
    with pytest.raises(GithubException) as missing_branch:
        repo.get_branch("nope")
    assert missing_branch.value.status == 404
    assert gh.contract_errors == []


# -- pulls, labels, comments, issues ----------------------------------------------------------


def test_pull_request_lifecycle_over_a_pushed_branch(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """A branch pushed with plain git can be PR'd, listed, labelled, commented and closed."""
    sha = push_branch(gh, tmp_path, "rollback/agent-a", {"agents/agent-a.yaml": "x: 1\n"}, "Pin")
    pr = repo.create_pull(base="main", head="rollback/agent-a", title="Roll back", body="b")
    assert pr.number == 1 and pr.head.sha == sha and pr.base.ref == "main"
    assert pr.head.label == "acme:rollback/agent-a"
    assert pr.mergeable is True and pr.mergeable_state == "clean"
    assert (pr.commits, pr.changed_files) == (1, 1)

    listed = repo.get_pulls(state="open", head="acme:rollback/agent-a", base="main")
    assert [p.number for p in listed] == [1]
    assert [p.number for p in repo.get_pulls(state="closed")] == []
    assert repo.get_pull(1).title == "Roll back"
    assert [f.filename for f in pr.get_files()] == ["agents/agent-a.yaml"]

    with pytest.raises(GithubException) as dup:
        repo.create_pull(base="main", head="rollback/agent-a", title="again", body="")
    assert dup.value.status == 422
    assert "A pull request already exists" in dup.value.data["errors"][0]["message"]
    with pytest.raises(GithubException) as no_head:
        repo.create_pull(base="main", head="does-not-exist", title="x", body="")
    assert no_head.value.data["errors"][0]["field"] == "head"

    pr.add_to_labels("gitops-rollback", "agent:agent-a")
    pr.remove_from_labels("agent:agent-a")
    assert [lb.name for lb in repo.get_issue(1).labels] == ["gitops-rollback"]
    assert [i.number for i in repo.get_issues(state="open", labels=["gitops-rollback"])] == [1]
    pr.create_issue_comment("Rolling back agent-a to v0")
    comments = list(pr.get_issue_comments())
    assert [(c.user.login, c.body) for c in comments] == [("gitops-bot[bot]", "Rolling back agent-a to v0")]

    pr.edit(state="closed")
    assert repo.get_pull(1).state == "closed" and repo.get_pull(1).merged is False
    assert gh.branch_sha("main") != sha
    assert gh.contract_errors == []


def test_issues_can_be_listed_filtered_and_closed(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Issues list includes PRs, filters by labels/state, and PATCH closes the PR too."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    pr.add_to_labels("gitops-rollback")
    issue = repo.get_issue(pr.number)
    assert issue.pull_request is not None
    assert [i.number for i in repo.get_issues(labels=["nope"])] == []
    issue.edit(state="closed", state_reason="not_planned")
    assert repo.get_pull(pr.number).state == "closed"
    assert [i.number for i in repo.get_issues(state="closed")] == [pr.number]
    assert gh.contract_errors == []


@pytest.mark.parametrize(
    ("login", "permission", "role"),
    [
        ("acme", "admin", "admin"),
        ("alice", "write", "maintain"),
        ("gitops-bot[bot]", "write", "write"),
        ("bob", "read", "triage"),
        ("mallory", "read", "read"),
        ("eve", "none", "none"),
    ],
)
def test_collaborator_permission_maps_roles_like_github(
    gh: FakeGitHub, repo: github.Repository.Repository, login: str, permission: str, role: str
) -> None:
    """`permission` is the legacy base role; `role_name` keeps maintain/triage."""
    assert repo.get_collaborator_permission(login) == permission
    assert repo.get_collaborator_role_name(login) == role
    assert gh.contract_errors == []


def test_permission_of_unknown_account_is_404(gh: FakeGitHub, repo: github.Repository.Repository) -> None:
    """An account GitHub does not know answers 404."""
    with pytest.raises(github.UnknownObjectException):
        repo.get_collaborator_permission("ghost-user")
    assert gh.contract_errors == []


# -- merging for real -------------------------------------------------------------------------


def test_merge_commit_is_no_ff_with_github_message(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """merge_method=merge writes a two-parent commit 'Merge pull request #N from owner/branch'."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    old_main, head = gh.branch_sha("main"), pr.head.sha
    result = pr.merge(merge_method="merge", sha=head)
    assert result.merged and gh.branch_sha("main") == result.sha
    info = gh.git.commit_info(result.sha)
    assert info["parents"] == [old_main, head]
    assert info["message"] == "Merge pull request #1 from acme/rollback/agent-a\n\nRoll back agent-a"
    merged = repo.get_pull(1)
    assert merged.merged and merged.merge_commit_sha == result.sha and merged.state == "closed"
    assert merged.merged_by.login == "gitops-bot[bot]"
    assert gh.contract_errors == []


def test_squash_merge_keeps_trailers_in_body(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Squash makes one single-parent commit: commit_title + commit_message, trailers intact."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    push_branch(gh, tmp_path, "rollback/agent-a", {"notes.txt": "2\n"}, "Second commit")
    old_main = gh.branch_sha("main")
    body = "Revert agent-a to v0.\n\nGitops-Bot-Rollback: agent-a\nIncident: INC-42"
    result = pr.merge(merge_method="squash", commit_title="Roll back agent-a (#1)", commit_message=body)
    info = gh.git.commit_info(result.sha)
    assert info["parents"] == [old_main]
    assert info["message"] == f"Roll back agent-a (#1)\n\n{body}"
    trailers = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=info["message"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert trailers.splitlines() == ["Gitops-Bot-Rollback: agent-a", "Incident: INC-42"]
    tree = gh.git.out("ls-tree", "-r", "--name-only", result.sha).splitlines()
    assert "notes.txt" in tree
    assert gh.contract_errors == []


def test_squash_default_message_lists_commits(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Without commit_title/message the squash message is GitHub's default."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    push_branch(gh, tmp_path, "rollback/agent-a", {"notes.txt": "2\n"}, "Second commit")
    result = pr.merge(merge_method="squash")
    message = gh.git.message(result.sha)
    assert message == "Roll back agent-a (#1)\n\n* Pin v0\n\n* Second commit"


def test_rebase_merge_replays_commits_linearly(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Rebase replays each PR commit on main: new shas, same messages and authors."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    second = push_branch(gh, tmp_path, "rollback/agent-a", {"notes.txt": "2\n"}, "Second commit")
    gh.commit_files("main", {"other.txt": "unrelated\n"}, "Unrelated change on main")
    old_main = gh.branch_sha("main")
    result = pr.merge(merge_method="rebase")
    assert result.sha != second and gh.branch_sha("main") == result.sha
    log = gh.git.out("log", "--format=%s|%an|%cn|%P", f"{old_main}..{result.sha}").splitlines()
    assert [line.split("|")[:3] for line in log] == [
        ["Second commit", "Agent Pusher", "GitHub"],
        ["Pin v0", "Agent Pusher", "GitHub"],
    ]
    assert all(len(line.split("|")[3].split()) == 1 for line in log)
    assert gh.contract_errors == []


def test_merge_with_stale_sha_is_409_and_main_untouched(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """The `sha` guard: head moved since the bot looked -> 409, nothing merged."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    stale = pr.head.sha
    push_branch(gh, tmp_path, "rollback/agent-a", {"agents/agent-a.yaml": "sneaky\n"}, "Sneak")
    old_main = gh.branch_sha("main")
    with pytest.raises(GithubException) as exc:
        pr.merge(merge_method="squash", sha=stale)
    assert exc.value.status == 409
    assert exc.value.data["message"] == "Head branch was modified. Review and try the merge again."
    assert gh.branch_sha("main") == old_main and repo.get_pull(1).merged is False
    assert gh.contract_errors == []


def test_conflicting_pr_is_not_mergeable_405(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """A real content conflict with main answers 405 'Pull Request is not mergeable'."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    gh.commit_files("main", {"agents/agent-a.yaml": "replicas: 9\n"}, "Hotfix on main")
    old_main = gh.branch_sha("main")
    fresh = repo.get_pull(pr.number)
    assert fresh.mergeable is False and fresh.mergeable_state == "dirty"
    for method in ("merge", "squash", "rebase"):
        with pytest.raises(GithubException) as exc:
            fresh.merge(merge_method=method)
        assert exc.value.status == 405
        assert exc.value.data["message"] == "Pull Request is not mergeable"
    assert gh.branch_sha("main") == old_main
    assert gh.contract_errors == []


def test_required_checks_block_merge_until_success(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Branch protection: 405 until the head has a success status for the required context."""
    gh.require_checks = True
    pr = open_rollback_pr(gh, repo, tmp_path)
    assert repo.get_pull(pr.number).mergeable_state == "blocked"
    assert repo.get_branch("main").protected is True
    with pytest.raises(GithubException) as exc:
        pr.merge(merge_method="squash")
    assert exc.value.status == 405 and "Required status check" in exc.value.data["message"]
    commit = repo.get_commit(pr.head.sha)
    commit.create_status(state="pending", context="ci")
    commit.create_status(state="success", context="ci", description="green")
    assert commit.get_combined_status().state == "success"
    # Commit.get_statuses() uses the legacy GET /repos/{o}/{r}/statuses/{sha}, absent from the
    # description (the fake flags it); the documented list is commits/{ref}/statuses.
    listed = requests.get(
        f"{gh.url}/repos/acme/gitops/commits/{pr.head.sha}/statuses", headers=headers(gh), timeout=10
    )
    assert [s["state"] for s in listed.json()] == ["success", "pending"]
    assert pr.merge(merge_method="squash").merged
    assert gh.contract_errors == []


def test_auto_merge_via_graphql_merges_when_checks_pass(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """enablePullRequestAutoMerge arms the PR; a later green status merges it for real."""
    gh.require_checks = ["ci"]
    pr = open_rollback_pr(gh, repo, tmp_path)
    pr.enable_automerge(merge_method="SQUASH", commit_headline="Roll back agent-a (#1)")
    assert len(gh.graphql_calls) == 1
    assert gh.graphql_calls[0]["variables"]["input"]["mergeMethod"] == "SQUASH"
    armed = repo.get_pull(pr.number)
    assert armed.auto_merge is not None and armed.merged is False
    gh.add_status(armed.head.sha, "success", "ci")
    done = repo.get_pull(pr.number)
    assert done.merged is True
    assert gh.git.message(done.merge_commit_sha).startswith("Roll back agent-a (#1)")
    assert gh.contract_errors == []


def test_auto_merge_refusals_surface_as_graphql_errors(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Disallowed auto-merge (and a PR already clean) come back as GraphQL errors."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    with pytest.raises(GithubException, match="clean status"):
        pr.enable_automerge()
    gh.require_checks = True
    gh.automerge_error = "Pull request Auto merge is not allowed for this repository"
    with pytest.raises(GithubException, match="Auto merge is not allowed"):
        pr.enable_automerge(merge_method="MERGE")
    assert repo.get_pull(pr.number).auto_merge is None
    assert gh.contract_errors == []


# -- fault injection and auth -----------------------------------------------------------------


def test_injected_rate_limit_and_outage_surface_as_pygithub_errors(gh: FakeGitHub, api: Github) -> None:
    """403 rate limit, 429 secondary limit and 502 reach the client with GitHub's headers."""
    gh.fail_next("GET", r"^/repos/acme/gitops$", 403)
    with pytest.raises(github.RateLimitExceededException) as limited:
        api.get_repo(gh.full_name)
    assert limited.value.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.value.headers["x-ratelimit-reset"]) > time.time()

    gh.fail_next("GET", r"^/repos/acme/gitops$", 429)
    with pytest.raises(GithubException) as secondary:
        api.get_repo(gh.full_name)
    assert secondary.value.status == 429 and secondary.value.headers["retry-after"] == "1"

    gh.fail_next("GET", r"^/repos/", 502, times=2)
    for _ in range(2):
        with pytest.raises(GithubException) as outage:
            api.get_repo(gh.full_name)
        assert outage.value.status == 502
    assert api.get_repo(gh.full_name).name == "gitops"
    assert [c.status for c in gh.calls] == [403, 429, 502, 502, 200]
    assert gh.contract_errors == []


def test_bad_token_is_401(gh: FakeGitHub) -> None:
    """Wrong or missing credentials answer GitHub's 401 body."""
    bad = Github(auth=Auth.Token("wrong"), base_url=gh.url, retry=None, timeout=HTTP_TIMEOUT_S)
    with pytest.raises(github.BadCredentialsException):
        bad.get_repo(gh.full_name)
    anonymous = requests.get(f"{gh.url}/repos/acme/gitops", timeout=HTTP_TIMEOUT_S)
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "Bad credentials"
    assert gh.contract_errors == []


def test_calls_are_recorded_with_realistic_headers(gh: FakeGitHub, api: Github) -> None:
    """server.calls counts API calls; responses carry rate-limit and request-id headers."""
    api.get_repo(gh.full_name)
    response = requests.get(f"{gh.url}/repos/acme/gitops", headers=headers(gh), timeout=10)
    assert gh.calls == [("GET", "/repos/acme/gitops", 200)] * 2
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-github-request-id", "etag"):
        assert name in response.headers
    gh.reset_calls()
    assert gh.calls == [] and gh.log == []


def test_pagination_follows_link_headers(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """Lists are paginated with Link headers that PyGithub follows."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    for i in range(35):
        gh.add_comment_as("alice", pr.number, f"comment {i}")
    gh.reset_calls()
    bodies = [c.body for c in pr.get_issue_comments()]
    assert bodies == [f"comment {i}" for i in range(35)]
    assert len(gh.calls_to("GET", r"/issues/1/comments$")) == 2
    assert gh.contract_errors == []


# -- contract validation bites ----------------------------------------------------------------


def test_request_missing_required_field_is_a_contract_error(gh: FakeGitHub) -> None:
    """A PR create without `base` is recorded as a contract error and answered 500."""
    response = requests.post(
        f"{gh.url}/repos/acme/gitops/pulls",
        headers=headers(gh),
        json={"title": "x", "head": "main"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 500
    assert len(gh.contract_errors) == 1
    assert "'base' is a required property" in gh.contract_errors[0]


@pytest.mark.parametrize(
    ("method", "path", "body", "needle"),
    [
        ("GET", "/repos/acme/gitops/pull/1", None, "no such path"),
        ("PUT", "/repos/acme/gitops/pulls/1/merge", {"merge_method": "ff"}, "'ff' is not one of"),
        ("PUT", "/repos/acme/gitops/pulls/1/merge", {"merge_mode": "squash"}, "'merge_mode'"),
        ("GET", "/repos/acme/gitops/pulls?status=open", None, "unknown query parameter 'status'"),
        ("POST", "/repos/acme/gitops/issues/1/comments", {"text": "hi"}, "'body' is a required"),
    ],
)
def test_contract_violations_are_caught(
    gh: FakeGitHub, method: str, path: str, body: object, needle: str
) -> None:
    """Unknown paths, bad enums, typo'd fields and unknown query params are all flagged."""
    response = requests.request(method, gh.url + path, headers=headers(gh), json=body, timeout=10)
    assert response.status_code == 500
    assert needle in "\n".join(gh.contract_errors)


def test_invalid_response_from_the_fake_is_caught(
    gh: FakeGitHub, api: Github, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the fake itself renders a wrong type, the response check turns it into a 500."""
    real = gh.render.repo
    monkeypatch.setattr(gh.render, "repo", lambda full=False: {**real(full), "id": "not-an-int"})
    with pytest.raises(GithubException) as exc:
        api.get_repo(gh.full_name)
    assert exc.value.status == 500
    assert "at id: 'not-an-int' is not of type 'integer'" in gh.contract_errors[0]


def test_contract_module_directly() -> None:
    """validate_request/validate_response raise on unknown paths, missing fields, bad types."""
    ctr = contract()
    match = ctr.validate_request("GET", "/repos/o/r/git/ref/heads/rollback/agent-a")
    assert match.operation_id == "git/get-ref"
    assert match.path_params["ref"] == "heads/rollback/agent-a"
    assert ctr.match("GET", "/repos/o/r/pulls/comments").operation_id.startswith("pulls/list-review")
    assert ctr.validate_request("GET", "/repos/o/r/pulls/7").path_params["pull_number"] == 7
    with pytest.raises(ContractError, match="no such path"):
        ctr.validate_request("GET", "/repos/o/r/nope")
    with pytest.raises(ContractError, match="'sha' is a required property"):
        ctr.validate_request("POST", "/repos/o/r/git/refs", {}, {"ref": "refs/heads/x"})
    with pytest.raises(ContractError, match="is not of type 'boolean'"):
        ctr.validate_response(
            "PUT", "/repos/o/r/pulls/1/merge", 200, {"sha": "a", "merged": 1, "message": "m"}
        )
    with pytest.raises(ContractError, match="not declared"):
        ctr.validate_response("PUT", "/repos/o/r/pulls/1/merge", 201, {"sha": "a"})
    with pytest.raises(ContractError, match="declares no body"):
        ctr.validate_response("DELETE", "/repos/o/r/git/refs/heads/x", 204, {"x": 1})
    ctr.validate_response("DELETE", "/repos/o/r/git/refs/heads/x", 204, NO_BODY)


# -- webhook payload helpers ------------------------------------------------------------------


def test_issue_comment_payloads_follow_real_examples(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """add_comment_as builds issue_comment payloads from GitHub's example, with our state."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    created = gh.add_comment_as("alice", pr.number, "/approve")
    assert created["action"] == "created"
    assert created["issue"]["number"] == pr.number
    assert created["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert created["comment"]["user"]["login"] == "alice"
    assert created["sender"]["login"] == "alice"
    assert created["repository"]["full_name"] == "acme/gitops"
    assert "installation" in created and "organization" not in created
    assert [c.body for c in pr.get_issue_comments()] == ["/approve"]

    edited = gh.add_comment_as("alice", pr.number, "/veto", action="edited")
    assert edited["changes"] == {"body": {"from": "/approve"}}
    assert edited["comment"]["id"] == created["comment"]["id"]
    gh.add_comment_as("alice", pr.number, "", action="deleted")
    assert list(pr.get_issue_comments()) == []
    assert gh.contract_errors == []


def test_pull_request_event_and_signature(
    gh: FakeGitHub, repo: github.Repository.Repository, tmp_path: Path
) -> None:
    """pull_request payload mirrors the PR; sign() is GitHub's HMAC-SHA256 header value."""
    pr = open_rollback_pr(gh, repo, tmp_path)
    opened = gh.pull_request_event(pr.number, "opened")
    assert opened["number"] == pr.number and opened["pull_request"]["head"]["sha"] == pr.head.sha
    pr.merge(merge_method="merge")
    closed = gh.pull_request_event(pr.number, "closed")
    assert closed["pull_request"]["merged"] is True
    body = json.dumps(closed).encode()
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, "s3cret") == expected == gh.sign(body, b"s3cret")
    hook = webhook_headers("pull_request", body, "s3cret")
    assert hook["X-GitHub-Event"] == "pull_request" and hook["X-Hub-Signature-256"] == expected
    assert gh.contract_errors == []
