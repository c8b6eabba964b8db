"""The project's exception hierarchy: one base, one subclass per kind of failure."""


class GitopsBotError(Exception):
    """Base of every error gitops-bot raises on purpose."""


class ConfigError(GitopsBotError):
    """gitops-bot.yaml is missing, unreadable or invalid."""


class PolicyError(GitopsBotError):
    """A RollbackPolicy file is invalid; the message names file, document and key."""


class AlertPayloadError(GitopsBotError):
    """A webhook body is not an Alertmanager v4 payload."""


class YamlPathError(GitopsBotError):
    """A field path is malformed or does not resolve in a manifest."""


class GitError(GitopsBotError):
    """A git operation failed."""


class PushRejectedError(GitError):
    """The remote refused a push because the branch moved (non-fast-forward)."""


class AlreadyPublishedError(GitopsBotError):
    """The identical rollback is already on the remote (another replica pushed it)."""


class ForgeError(GitopsBotError):
    """The forge (local remote, GitHub) refused or failed an operation."""


class JournalError(GitopsBotError):
    """The durable alert journal could not be written or read."""


class UsageError(GitopsBotError):
    """An operator asked for something that cannot be done (unknown agent, bad flag)."""


class AuthenticationError(GitopsBotError):
    """A webhook request carried no valid credentials."""


class PrometheusError(GitopsBotError):
    """Prometheus could not be queried (down, refused, bad query)."""


class AlertmanagerError(GitopsBotError):
    """Alertmanager's API could not be queried."""


class GitHubError(ForgeError):
    """A GitHub API call failed; `status` is the HTTP status (0: no answer at all)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class GitHubUnavailableError(GitHubError):
    """GitHub stayed rate-limited, down or unreachable beyond the retry bound (try again later)."""


class PullExistsError(GitHubError):
    """Opening a pull request failed because one already exists, or the branch is already in."""


class MergeRefusedError(GitHubError):
    """GitHub refused a merge: 405 (checks, reviews, conflicts), 409 (head moved) or 422."""


class WebhookPayloadError(GitopsBotError):
    """A GitHub webhook body or its headers are not what GitHub sends."""


class GitTimeoutError(GitError):
    """A git call ran past its deadline and was killed (a stalled remote, a hook that never returns)."""
