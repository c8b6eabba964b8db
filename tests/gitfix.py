"""Small composable helpers that build real GitOps repos (bare remote + clones) for tests."""

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# History is laid out in the past, one minute a commit, so alerts "now" come after it and the
# bot's own commits (made at the real time) come after the alerts.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


def git(cwd: Path, *args: str, when: datetime | None = None, author: str = "Dana Developer") -> str:
    """Run real git as a human developer would."""
    email = author.lower().replace(" ", ".") + "@example.com"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def deployment(agent: str, version: str, *, replicas: int = 2, comment: str = "release under test") -> str:
    """An agent Deployment whose agent container image carries the version."""
    return f"""# {agent} runtime
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {agent}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
        - name: sidecar
          image: otel/opentelemetry-collector:0.112.0
        - name: agent
          image: registry.example.com/agents/{agent}:{version}   # {comment}
          env:
            - {{name: LOG_LEVEL, value: info}}
"""


def agent_config(agent: str, version: str, *, model: str = "gpt-4o") -> str:
    """An AgentConfig whose spec.version follows the image tag."""
    return f"""apiVersion: agents.example.com/v1
kind: AgentConfig
metadata:
  name: {agent}
spec:
  version: "{version}"   # keep in step with the image
  model: {model}
"""


def agent_files(agent: str, version: str, **kw: object) -> dict[str, str]:
    """Both manifests of one agent."""
    replicas = kw.pop("replicas", 2)
    return {
        f"agents/{agent}/deployment.yaml": deployment(agent, version, replicas=int(str(replicas))),
        f"agents/{agent}/agent.yaml": agent_config(agent, version),
    }


@dataclass
class Remote:
    """A bare remote plus a developer clone that pushes to it."""

    bare: Path
    dev: Path
    clock: datetime = T0

    @property
    def url(self) -> str:
        """The remote as the bot sees it."""
        return f"file://{self.bare}"

    def tick(self, minutes: int = 1) -> datetime:
        """Advance the history clock so commits have distinct, ordered times."""
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def write(self, files: dict[str, str]) -> None:
        """Write files into the developer clone."""
        for name, text in files.items():
            path = self.dev / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def commit(
        self, files: dict[str, str], message: str, *, push: bool = True, author: str = "Dana Developer"
    ) -> str:
        """Commit files on the current branch (and push main), returning the sha."""
        self.write(files)
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "--quiet", "-m", message, when=self.tick(), author=author)
        if push:
            self.push()
        return self.head()

    def push(self, branch: str = "main") -> None:
        """Push a branch of the developer clone."""
        git(self.dev, "push", "--quiet", "origin", branch)

    def pull(self) -> None:
        """Bring the developer clone up to date with the remote."""
        git(self.dev, "pull", "--quiet", "--ff-only", "origin", "main")

    def head(self, rev: str = "HEAD") -> str:
        """A revision's sha in the developer clone."""
        return git(self.dev, "rev-parse", rev)

    def remote_head(self) -> str:
        """main on the bare remote."""
        return git(self.bare, "rev-parse", "main")

    def show(self, path: str, rev: str = "main") -> str:
        """A file's text on the remote."""
        return git(self.bare, "show", f"{rev}:{path}")

    def count(self, rev: str = "main") -> int:
        """Commits reachable from a revision on the remote."""
        return int(git(self.bare, "rev-list", "--count", rev))

    def merge_pr(self, branch: str, files: dict[str, str], message: str, *, squash: bool = False) -> str:
        """Land a change as a PR would: a --no-ff merge commit, or a squash merge."""
        git(self.dev, "checkout", "--quiet", "-b", branch)
        self.commit(files, message, push=False)
        git(self.dev, "checkout", "--quiet", "main")
        if squash:
            git(self.dev, "merge", "--quiet", "--squash", branch)
            git(self.dev, "commit", "--quiet", "-m", f"{message} (#7)", when=self.tick())
        else:
            git(
                self.dev,
                "merge",
                "--quiet",
                "--no-ff",
                "-m",
                f"Merge pull request #7 from acme/{branch}",
                branch,
                when=self.tick(),
            )
        self.push()
        return self.head()


def make_remote(root: Path, agents: dict[str, str]) -> Remote:
    """A remote whose first commit holds each agent at its version."""
    bare, dev = root / "remote.git", root / "dev"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(root, "clone", "--quiet", str(bare), str(dev))
    remote = Remote(bare=bare, dev=dev)
    files: dict[str, str] = {}
    for agent, version in agents.items():
        files |= agent_files(agent, version)
    remote.commit(files, "Initial agents")
    return remote
