"""Keep the rolled-back version out of Flux image automation (policy opt-in), and lift that again.

Levers (spec.cluster.imageAutomation): `excludeTag: <ns>/<ImageRepository>` adds an anchored regex for
the tag to the ImageRepository's `spec.exclusionList` — NOTE: that list is shared by every ImagePolicy
(and so every policy/agent) that reads the repository; `suspendAutomation: <ns>/<ImageUpdateAutomation>`
suspends the automation (it stops every bump it writes). Neither changes git files, so the revert's diff
stays the revert; the decision is recorded as annotated tags
`gitops-bot/image-hold/<agent>/<version>/{held,lifted}-<unix ms>` (the latest one says the state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gitops_bot.adapters.flux import Flux, FluxError
from gitops_bot.adapters.flux_images import FluxImages
from gitops_bot.app.engine import Engine
from gitops_bot.core.cluster_policy import ImageAutomation
from gitops_bot.core.errors import GitopsBotError, UsageError
from gitops_bot.core.refs import image_hold_prefix

log = logging.getLogger("gitops_bot")


class ImageHoldError(GitopsBotError):
    """The Kubernetes API refused the image automation change."""


def _record(engine: Engine, agent: str, version: str, state: str, sha: str, text: str) -> str:
    name = f"{image_hold_prefix(agent, version)}{state}-{int(time.time() * 1000)}"
    message = f"{text}\n\nImage-Hold: {state}\nRollback-Agent: {agent}\nRollback-From: {version}\n"
    engine.repo.tag(name, sha, engine.trusted.seal(name, sha, message))
    return name


def held(engine: Engine, agent: str, version: str) -> bool:
    """Whether the latest authenticated record for this agent and version is a hold."""
    records = sorted(
        engine.trusted.tag_messages(image_hold_prefix(agent, version)), key=lambda n: int(n.split("-")[-1])
    )
    return bool(records) and records[-1].startswith("held-")


def hold(
    images: FluxImages, engine: Engine, spec: ImageAutomation, agent: str, version: str, sha: str
) -> str:
    """Apply the lever for a rollback of `agent` away from `version`; return what was done."""
    namespace, _, name = spec.ref_for(agent).partition("/")
    try:
        if spec.lever == "exclude-tag":
            changed = images.exclude_tag(namespace, name, version)
            what = f"excluded tag {version} in ImageRepository {namespace}/{name}" + (
                "" if changed else " (already)"
            )
        else:
            images.set_automation_suspended(namespace, name, True)
            what = f"suspended ImageUpdateAutomation {namespace}/{name}"
    except FluxError as e:
        raise ImageHoldError(f"cannot keep {agent} {version} out of image automation: {e}") from e
    _record(engine, agent, version, "held", sha, f"{what} after rollback {sha[:12]}")
    return what


def hold_quietly(
    flux: Callable[[], Flux], engine: Engine, spec: ImageAutomation, agent: str, version: str, sha: str
) -> list[str]:
    """`hold` for the cluster watch: the problem as a sentence (escalated by the caller), else []."""
    try:
        log.info("cluster: %s", hold(FluxImages(flux()), engine, spec, agent, version, sha))
    except GitopsBotError as e:
        return [str(e)]
    return []


def lift(
    images: FluxImages, engine: Engine, spec: ImageAutomation, agent: str, version: str, who: str
) -> str:
    """Undo the lever (`gitops-bot lift-exclusion`) and record who lifted it."""
    if not held(engine, agent, version):
        raise UsageError(
            f"{agent} {version} is not held out of image automation (no gitops-bot/image-hold tag)"
        )
    namespace, _, name = spec.ref_for(agent).partition("/")
    try:
        if spec.lever == "exclude-tag":
            images.lift_exclusion(namespace, name, version)
            what = f"removed the exclusion of tag {version} from ImageRepository {namespace}/{name}"
        else:
            images.set_automation_suspended(namespace, name, False)
            what = f"resumed ImageUpdateAutomation {namespace}/{name}"
    except FluxError as e:
        raise ImageHoldError(f"cannot lift the hold on {agent} {version}: {e}") from e
    _record(engine, agent, version, "lifted", engine.repo.head_sha(), f"{what}; lifted by {who}")
    return what
