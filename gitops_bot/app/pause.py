"""`gitops-bot pause` / `resume`: commit or remove `.gitops-bot/pause` on the GitOps branch.

The pause is a commit, so it is audited like everything else (who, why, when); the bot reads it
from the head it just fetched before every rollback. The push is the atomic step: a moved branch
means fetch and try again.
"""

from datetime import UTC, datetime

from gitops_bot.app.engine import Engine
from gitops_bot.core.alerts import format_time
from gitops_bot.core.errors import PushRejectedError, UsageError
from gitops_bot.core.pause import PAUSE_FILE, Pause, pause_text, read_pause
from gitops_bot.core.trailers import one_line

ATTEMPTS = 5


def _push(engine: Engine, head: str, message: str, *, write: str | None) -> str:
    repo = engine.repo
    files = {PAUSE_FILE: write.encode()} if write is not None else {}
    sha = repo.commit_files(files, message, parent=head, remove=() if write is not None else (PAUSE_FILE,))
    repo.push(f"{sha}:refs/heads/{repo.branch}")
    return sha


def _change(engine: Engine, *, pause: Pause | None) -> str:
    """Commit the pause file (pause given) or its removal; return what happened."""
    for _ in range(ATTEMPTS):
        with engine.exclusive():
            head = engine.sync()
            current = read_pause(engine.repo.read(head, PAUSE_FILE))
            if pause is None and current is None:
                return "not paused: nothing to do"
            if pause is None:
                message = f"Resume gitops-bot\n\nPaused-By: {current.by if current else ''}\n"
                text = None
            else:
                message = f"Pause gitops-bot: {one_line(pause.reason)}\n\nPaused-By: {one_line(pause.by)}\n"
                text = pause_text(pause)
            try:
                sha = _push(engine, head, message, write=text)
            except PushRejectedError:
                continue  # someone pushed meanwhile: fetch and redo
        return f"{'paused' if pause else 'resumed'}: {sha[:12]} on {engine.repo.branch}"
    raise UsageError(f"the branch kept moving: gave up after {ATTEMPTS} attempts")


def pause(engine: Engine, *, by: str, reason: str, now: datetime | None = None) -> str:
    """Pause every rollback until `resume`."""
    if not reason.strip():
        raise UsageError("--reason is required: say why, it is the audit record")
    at = format_time((now or datetime.now(UTC)).replace(microsecond=0))
    return _change(engine, pause=Pause(by=by, reason=reason, since=at))


def resume(engine: Engine) -> str:
    """Remove the pause file."""
    return _change(engine, pause=None)
