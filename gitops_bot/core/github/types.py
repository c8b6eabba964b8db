"""What the GitHub adapter hands back, its back-off rule and label styles (no I/O)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_BACKOFF = 30.0
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when a 429 names no retry-after


@dataclass(frozen=True)
class PullInfo:
    """A pull request (head sha/ref are empty when read from the issues list)."""

    number: int
    state: str
    merged: bool
    labels: frozenset[str]
    body: str
    html_url: str
    author: str
    created_at: datetime | None = None
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    node_id: str = ""

    @property
    def open(self) -> bool:
        """Whether the PR is open."""
        return self.state == "open"


LABEL_STYLES = {
    "rollback": ("d93f0b", "gitops-bot rollback of an agent version"),
    "rollback/auto": ("c5def5", "gitops-bot merges at once"),
    "rollback/veto-window": ("fbca04", "gitops-bot merges when the veto window ends"),
    "rollback/approval": ("fbca04", "gitops-bot merges on /approve"),
    "rollback/held": ("5319e7", "/hold stopped the veto clock"),
    "rollback/blocked": ("b60205", "GitHub refused the merge: left to people"),
    "rollback/vetoed": ("000000", "vetoed: the rollback will not be opened again"),
    "rollback/auto-merge": ("0e8a16", "GitHub auto-merge armed by gitops-bot"),
    "rollback/obsolete": ("cfd3d7", "closed by gitops-bot: no longer needed"),
}


def label_style(name: str) -> tuple[str, str]:
    """Colour and description of a label the bot uses (GitHub wants both for a tidy label)."""
    if name in LABEL_STYLES:
        return LABEL_STYLES[name]
    if name.startswith("agent/"):
        return "1d76db", f"gitops-bot rollbacks of {name.removeprefix('agent/')}"[:100]
    return "ededed", "added by a gitops-bot RollbackPolicy"


def retry_delay(status: int, headers: Mapping[str, Any], attempt: int, now: float) -> float | None:
    """Seconds to wait before retrying an answer (status 0: none arrived), or None: do not retry."""
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    if status in (403, 429):
        if h.get("retry-after", "").isdigit():
            return float(h["retry-after"])
        if h.get("x-ratelimit-remaining") == "0" and h.get("x-ratelimit-reset", "").isdigit():
            return max(1.0, float(h["x-ratelimit-reset"]) - now + 1.0)
        # A 403 without rate-limit headers is a permission problem: retrying cannot help.
        return SECONDARY_LIMIT_WAIT if status == 429 else None
    if status == 0 or status >= 500:
        return min(float(2**attempt), MAX_BACKOFF)
    return None


def error_text(data: Any) -> str:
    """GitHub's error body (REST message + errors[], or GraphQL errors[]) as one line."""
    if not isinstance(data, Mapping):
        return str(data or "no body")
    parts = [str(data["message"])] if data.get("message") else []
    for item in data.get("errors") or []:
        if isinstance(item, Mapping):
            text = item.get("message") or " ".join(
                f"{k}={item[k]}" for k in ("resource", "field", "code") if item.get(k)
            )
            parts.append(str(text))
        else:
            parts.append(str(item))
    return ": ".join(parts) or "no message"
