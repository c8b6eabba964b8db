"""End to end through the container image: a real Alertmanager payload in, the revert on a bare remote out.

Run as root on a machine with podman: `make image-e2e` (builds the image first), or
`python3 -m tests.image.e2e` from the checkout. Standard library only, so any python3 runs it. Every
check prints `ok - ...` or `FAIL - ...`; any failure exits 1. The container runs `--read-only --user 10001 --cap-drop ALL` with the config and policies mounted read-only, the bare GitOps
remote mounted as a volume (used through a file:// URL) and a writable volume for the bot's clone and
journal; it listens on 127.0.0.1 only (host network), with its bearer token taken from the environment.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from tests.image.harness import PASSED, CheckFailed, check, free_port, git, listeners, post, run

ROOT = Path(__file__).resolve().parents[2]
PODMAN = os.environ.get("PODMAN", str(ROOT / "tools" / "podman-here"))
IMAGE = os.environ.get("IMAGE", "localhost/gitops-bot:dev")
PAYLOAD = ROOT / "tests" / "contracts" / "alertmanager" / "firing-single-policy-violation.json"
BOT_UID = 10001
DEADLINE_S = 90.0  # for the bot to come up, and again for the revert to land


def build_remote(root: Path, alert_started: datetime) -> tuple[Path, str]:
    """A bare remote with the example agents at good versions, then the rogue billing-agent release."""
    bare, seed = root / "git" / "agents-gitops.git", root / "seed"
    bare.parent.mkdir()
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(ROOT / "manifests" / "agents-gitops", seed)
    git(seed, "init", "--quiet", "--initial-branch=main")
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "Initial agents", when=alert_started - timedelta(days=3))
    for name in ("deployment.yaml", "agent.yaml"):
        path = seed / "agents" / "billing-agent" / name
        text = path.read_text()
        check("2026.05.2" in text, f"example {name} holds billing-agent 2026.05.2")
        path.write_text(text.replace("2026.05.2", "2026.06.0"))
    git(
        seed,
        "commit",
        "--quiet",
        "-am",
        "Release billing-agent 2026.06.0",
        when=alert_started - timedelta(hours=2),
    )
    git(seed, "push", "--quiet", str(bare), "main")
    # The bot owns what it writes to, as in a pod (fsGroup); git refuses repos of "dubious ownership".
    run("chown", "-R", f"{BOT_UID}:{BOT_UID}", str(bare.parent))
    return bare, git(seed, "rev-parse", "HEAD")


def write_config(root: Path, port: int) -> Path:
    etc = root / "etc"
    (etc / "policies").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "agents.yaml", etc / "policies" / "agents.yaml")
    (etc / "gitops-bot.yaml").write_text(
        "repo:\n"
        "  url: file:///srv/git/agents-gitops.git\n"
        "  branch: main\n"
        "  workdir: /var/lib/gitops-bot/repo\n"
        "forge: {kind: local}\n"
        "server:\n"
        f"  listen: 127.0.0.1:{port}\n"
        "  alertmanager_token_env: GITOPS_BOT_ALERT_TOKEN\n"
        "policies: policies/\n"
    )
    return etc


def start_bot(name: str, root: Path, etc: Path, token: str) -> None:
    state = root / "state"
    state.mkdir()
    run("chown", f"{BOT_UID}:{BOT_UID}", str(state))
    # passed by name: not on the command line
    env = {**os.environ, "GITOPS_BOT_ALERT_TOKEN": token, "GITOPS_BOT_STATE_KEY": "image-e2e-state-key-0123"}
    run(
        PODMAN, "run", "--detach", "--name", name, "--read-only", "--user", str(BOT_UID),
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--tmpfs", "/tmp:rw,mode=1777",
        "--env", "GITOPS_BOT_ALERT_TOKEN", "--env", "GITOPS_BOT_STATE_KEY",
        "--volume", f"{etc}:/etc/gitops-bot:ro",
        "--volume", f"{root / 'git'}:/srv/git",
        "--volume", f"{state}:/var/lib/gitops-bot",
        IMAGE, "serve", "--config", "/etc/gitops-bot/gitops-bot.yaml",
        env=env,
    )  # fmt: skip


def wait_until_up(name: str, base: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if run(PODMAN, "inspect", "--format", "{{.State.Running}}", name) != "true":
            break
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    check(True, f"bot answers /healthz on {base} (token from env, listening on loopback)")
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)
    check(False, "bot came up", run(PODMAN, "logs", "--tail", "40", name))


def wait_for_revert(bare: Path, rogue: str) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        head = run("git", "--git-dir", str(bare), "rev-parse", "main")
        if head != rogue:
            return head
        time.sleep(0.1)
    raise CheckFailed(f"no revert on the bare remote within {DEADLINE_S:.0f}s")


def check_revert(bare: Path, head: str, rogue: str, alert: dict[str, object]) -> None:
    out = run("git", "--git-dir", str(bare), "log", "-1", "--format=%s%n%(trailers:only,unfold)", head)
    subject, *lines = out.splitlines()
    trailers = dict(line.split(": ", 1) for line in lines if ": " in line)
    want_subject = "Roll back billing-agent 2026.06.0 -> 2026.05.2 (AgentPolicyViolations)"
    check(subject == want_subject, "revert subject names agent, versions and alert", subject)
    want = {
        "Rollback-Of": rogue,
        "Rollback-Agent": "billing-agent",
        "Rollback-From": "2026.06.0",
        "Rollback-To": "2026.05.2",
        "Alert-Name": "AgentPolicyViolations",
        "Alert-Fingerprint": str(alert["fingerprint"]),
        "Policy": "agents",
        "Approved-By": "auto",
        # The image field holds a full reference, so the full values ride along (issue 8).
        "Rollback-From-Ref": "registry.example.com/agents/billing-agent:2026.06.0",
        "Rollback-To-Ref": "registry.example.com/agents/billing-agent:2026.05.2",
    }
    check(trailers == want, f"revert carries exactly the trailers {sorted(want)}", repr(trailers))
    parent = run("git", "--git-dir", str(bare), "rev-parse", f"{head}^")
    check(parent == rogue, "revert sits right on top of the rogue release", parent)
    changed = run("git", "--git-dir", str(bare), "diff", "--name-only", rogue, head).split()
    want_files = ["agents/billing-agent/agent.yaml", "agents/billing-agent/deployment.yaml"]
    check(sorted(changed) == want_files, "revert touches only billing-agent's files", repr(changed))


def check_container(name: str) -> None:
    table = run(PODMAN, "exec", name, "ps", "-e", "-o", "pid=,uid=,args=")
    rows = [line.split(None, 2) for line in table.splitlines()]
    pid1 = next((r for r in rows if r[0] == "1"), None)
    check(pid1 is not None and "tini" in pid1[2], "PID 1 is tini", table)
    bot = [r for r in rows if r[0] != "1" and "bin/gitops-bot serve" in r[2]]  # tini's child
    check(len(bot) == 1 and bot[0][1] == str(BOT_UID), f"gitops-bot serve runs as uid {BOT_UID} (ps)", table)
    check(all(r[1] == str(BOT_UID) for r in rows), f"every process in the container has uid {BOT_UID}", table)
    ssh = run(PODMAN, "exec", name, "ssh", "-G", "git.example.invalid")  # ssh looks the uid up in passwd
    check(
        "user gitops-bot" in ssh.splitlines(), "ssh resolves uid 10001 to user gitops-bot (passwd entry)", ssh
    )
    home = run(PODMAN, "exec", name, "sh", "-c", "echo $HOME; id -un")
    check(home.split() == ["/home/gitops-bot", "gitops-bot"], "HOME is /home/gitops-bot", home)
    write = subprocess.run(
        [PODMAN, "exec", name, "sh", "-c", "echo x > /written-by-e2e"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    refused = write.returncode != 0 and "Read-only file system" in write.stderr
    check(refused, "writing to / inside the container fails (read-only root filesystem)", write.stderr)


def scenario(root: Path, name: str) -> None:
    alert_body = PAYLOAD.read_bytes()
    alert = json.loads(alert_body)["alerts"][0]
    started = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
    bare, rogue = build_remote(root, started)
    port, token = free_port(), secrets.token_hex(16)
    start_bot(name, root, write_config(root, port), token)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(name, base)
    bound = listeners(port)
    check(bound == {"0100007F"}, f"the bot listens on 127.0.0.1:{port} only", repr(bound))
    check(
        post(f"{base}/api/v1/alerts", alert_body, None) == 401, "an alert without the bearer token gets 401"
    )
    check(
        post(f"{base}/api/v1/alerts", alert_body, token) == 200,
        f"real Alertmanager payload {PAYLOAD.name} accepted",
    )
    sent = time.monotonic()
    head = wait_for_revert(bare, rogue)
    check(True, f"revert landed on the bare remote {time.monotonic() - sent:.2f}s after the alert")
    check_revert(bare, head, rogue, alert)
    check_container(name)


def main() -> int:
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="gitops-bot-image-e2e-"))
    name = f"gitops-bot-e2e-{secrets.token_hex(4)}"

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        scenario(root, name)
    except (CheckFailed, RuntimeError, subprocess.TimeoutExpired, KeyboardInterrupt) as e:
        subprocess.run([PODMAN, "logs", "--tail", "60", name], timeout=30, check=False)
        print(f"image-e2e: FAILED: {e}", flush=True)
        print(f"image-e2e: {len(PASSED)} passed, 1 failed")
        return 1
    finally:
        subprocess.run(
            [PODMAN, "rm", "--force", "--time", "5", name], capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(root, ignore_errors=True)
    print(f"image-e2e: {IMAGE} checked in {time.monotonic() - started:.1f}s")
    print(f"image-e2e: {len(PASSED)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
