"""The GitOps repo layouts platform teams use, each as hand-written files plus a release history.

Every layout has the same story: an initial commit, a release that ships the rogue billing-agent
1.x and also bumps support-bot, then a later unrelated edit. The revert must change exactly the
billing-agent version bytes listed in `revert`, and nothing else in any file.
"""

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gitops_bot.core.alerts import Alert
from tests.conftest import make_alert
from tests.gitfix import Remote, git

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Edit:
    """Replace one exact byte string (present exactly once) in one file."""

    file: str
    old: bytes
    new: bytes

    def inverse(self) -> "Edit":
        return Edit(self.file, self.new, self.old)


@dataclass(frozen=True)
class Layout:
    """One layout: fixture folder, the rogue release, a later unrelated edit, the expected revert."""

    name: str
    release: tuple[Edit, ...]
    unrelated: Edit
    revert: tuple[Edit, ...]
    version: str = "1.5.0"  # the alert's version label
    labels: dict[str, str] = field(default_factory=dict)  # other alert labels (env …)
    good: str = "1.4.0"

    @property
    def policies(self) -> Path:
        return FIXTURES / self.name

    def __str__(self) -> str:
        return self.name


def alert_for(agent: str, version: str, labels: dict[str, str] | None = None) -> Alert:
    """An alert built from the captured Alertmanager payload, with extra labels (env …) put in."""
    alert = make_alert(agent, version)
    return dataclasses.replace(alert, labels={**alert.labels, **(labels or {})})


def apply(root: Path, edits: tuple[Edit, ...]) -> None:
    """Make the edits a person would, byte for byte."""
    for edit in edits:
        path = root / edit.file
        data = path.read_bytes()
        assert data.count(edit.old) == 1, (edit.file, edit.old)
        path.write_bytes(data.replace(edit.old, edit.new))


def build_remote(tmp: Path, layout: Layout) -> Remote:
    """A bare remote with the layout's three commits, pushed by a developer clone."""
    tmp.mkdir(parents=True, exist_ok=True)
    bare, dev = tmp / "remote.git", tmp / "dev"
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(tmp, "clone", "--quiet", str(bare), str(dev))
    remote = Remote(bare=bare, dev=dev)
    shutil.copytree(FIXTURES / layout.name / "repo", dev, dirs_exist_ok=True)
    commit(remote, "Initial fleet")
    apply(dev, layout.release)
    commit(remote, f"Release billing-agent {layout.version} and support-bot 2.2.0")
    apply(dev, (layout.unrelated,))
    commit(remote, "Tune settings", author="Ola Operator")
    return remote


def commit(remote: Remote, message: str, author: str = "Dana Developer") -> str:
    git(remote.dev, "add", "-A")
    git(remote.dev, "commit", "--quiet", "-m", message, when=remote.tick(), author=author)
    remote.push()
    return remote.head()


def _both(file: str, pairs: list[tuple[bytes, bytes]]) -> tuple[Edit, ...]:
    return tuple(Edit(file, old, new) for old, new in pairs)


KUSTOMIZE = "overlays/prod/kustomization.yaml"
HELM = "agents/billing-agent/values.yaml"
FLUX = "clusters/prod/agents/billing-agent.yaml"
ARGO = "argocd/apps/billing-agent.yaml"
DIGEST = "agents/billing-agent/deployment.yaml"
TFVARS = "terraform/prod/billing-agent.tfvars"
FLEET = "fleet/agents.json"
APPSET = "envs/prod/agents/billing-agent/values.yaml"
SHA1, SHA3 = "1" * 64, "3" * 64

_kustomize = (Edit(KUSTOMIZE, b'newTag: "1.4.0"', b'newTag: "1.5.0"'),)
_helm = (Edit(HELM, b"tag: '1.4.0'", b"tag: '1.5.0'"),)
_flux = _both(FLUX, [(b'version: "1.4.0"', b'version: "1.5.0"'), (b"tag: 1.4.0", b"tag: 1.5.0")])
_argo = _both(
    ARGO,
    [
        (b"targetRevision: v1.4.0", b"targetRevision: v1.5.0"),
        (b'value: "1.4.0"', b'value: "1.5.0"'),
        (b'app.kubernetes.io/version: "1.4.0"', b'app.kubernetes.io/version: "1.5.0"'),
    ],
)
_digest = (
    Edit(
        DIGEST, f"billing-agent:1.0.0@sha256:{SHA1}".encode(), f"billing-agent:1.1.0@sha256:{SHA3}".encode()
    ),
)
_tfvars = (Edit(TFVARS, b'agent_version  = "1.4.0"', b'agent_version  = "1.5.0"'),)
_fleet = (Edit(FLEET, b'"version": "1.4.0"', b'"version": "1.5.0"'),)
_appset = (Edit(APPSET, b'tag: "1.4.0"', b'tag: "1.5.0"'),)

LAYOUTS = (
    Layout(
        "kustomize",
        release=(*_kustomize, Edit(KUSTOMIZE, b"newTag: 2.1.0", b"newTag: 2.2.0")),
        unrelated=Edit(KUSTOMIZE, b"count: 3", b"count: 4"),
        revert=tuple(e.inverse() for e in _kustomize),
    ),
    Layout(
        "helm-values",
        release=(*_helm, Edit("agents/support-bot/values.yaml", b"tag: 2.1.0", b"tag: 2.2.0")),
        unrelated=Edit(HELM, b"replicas: 2", b"replicas: 4"),
        revert=tuple(e.inverse() for e in _helm),
    ),
    Layout(
        "flux",
        release=(
            *_flux,
            *_both(
                "clusters/prod/agents/support-bot.yaml",
                [(b'tag: "2.1.0"', b'tag: "2.2.0"'), (b'version: "2.1.0"', b'version: "2.2.0"')],
            ),
        ),
        unrelated=Edit(FLUX, b"interval: 5m", b"interval: 2m"),
        revert=tuple(e.inverse() for e in _flux),
    ),
    Layout(
        "argocd",
        release=(
            *_argo,
            *_both(
                "argocd/apps/support-bot.yaml",
                [
                    (b"targetRevision: v2.1.0", b"targetRevision: v2.2.0"),
                    (b"value: 2.1.0}", b"value: 2.2.0}"),
                ],
            ),
        ),
        unrelated=Edit(ARGO, b"value: '3'", b"value: '5'"),
        revert=tuple(e.inverse() for e in _argo),
    ),
    Layout(
        "tag-digest",
        release=(
            *_digest,
            Edit(
                "agents/support-bot/deployment.yaml",
                f"2.1.0@sha256:{'2' * 64}".encode(),
                f"2.2.0@sha256:{'4' * 64}".encode(),
            ),
        ),
        unrelated=Edit(DIGEST, b"replicas: 2", b"replicas: 3"),
        revert=tuple(e.inverse() for e in _digest),
        version="1.1.0",
        good="1.0.0",
    ),
    Layout(
        "terraform",
        release=(
            *_tfvars,
            Edit("terraform/prod/support-bot.tfvars", b'agent_version = "2.1.0"', b'agent_version = "2.2.0"'),
        ),
        unrelated=Edit(TFVARS, b"replicas       = 3", b"replicas       = 4"),
        revert=tuple(e.inverse() for e in _tfvars),
    ),
    Layout(
        "many-agents",
        release=(*_fleet, Edit(FLEET, b'"version": "2.1.0"', b'"version": "2.2.0"')),
        unrelated=Edit(FLEET, b'"maxSurge": 1', b'"maxSurge": 2'),
        revert=tuple(e.inverse() for e in _fleet),
    ),
    Layout(
        "appset",
        release=(*_appset, Edit("envs/prod/agents/support-bot/values.yaml", b"tag: 2.1.0", b"tag: 2.2.0")),
        unrelated=Edit(APPSET, b"hosts: [billing.agents.acme.example]", b"hosts: [billing.acme.example]"),
        revert=tuple(e.inverse() for e in _appset),
        labels={"env": "prod"},
    ),
)
