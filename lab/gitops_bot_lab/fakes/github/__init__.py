"""A fake GitHub REST + GraphQL API on loopback, backed by a real bare git repo, checked against the spec.

PyGithub (or anything else) talks to it for real over HTTP via `base_url=server.url`. Every
request and response is validated against GitHub's official OpenAPI description
(`openapi.py`); a violation is recorded in `server.contract_errors` and answered with a 500 so
the client fails loudly. Refs and merges act on a real bare repository, so branches the bot
pushes with plain `git push <server.clone_url>` show up, and merges move the base branch.

Typical use::

    with FakeGitHub(tmp_path / "gitops.git", init_files={"app.yaml": "v: 1\\n"}) as gh:
        g = gh.client()   # PyGithub with retry=None and no client-side throttling sleeps
        ...
        assert gh.contract_errors == []

Test controls: `calls` / `reset_calls()` / `calls_to()`, `log` (full exchanges), `fail_next()`,
`require_checks`, `allowed_merge_methods`, `automerge_error`, `set_permission()`,
`commit_files()`, `open_pull_as()`, `add_status()`, `add_comment_as()`, `pull_request_event()`,
`sign()` and `webhook_headers()`.

Layout, one module per concern: `model` (records, errors), `bare` (git plumbing), `state` (the
shared repository state), `render` (JSON), one module per REST resource group (`accounts`,
`refs`, `pulls`, `merge`, `issues`, `labels`, `statuses`), `graphql`, `webhooks`, `gateway`
(validation, auth, faults, dispatch) and `server` (FakeGitHub, the wiring and test controls).
"""

from gitops_bot_lab.fakes.github.server import FakeGitHub
from gitops_bot_lab.fakes.github.webhooks import sign, webhook_headers

__all__ = ["FakeGitHub", "sign", "webhook_headers"]
