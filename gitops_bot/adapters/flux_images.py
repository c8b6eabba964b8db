"""Keep a rolled-back tag out: Flux image automation through the Kubernetes API.

Two levers, both opt-in per policy (the caller decides): suspend the `ImageUpdateAutomation` (stops
every image bump it writes to git), or add an anchored regex for the rolled-back tag to the
`ImageRepository`'s `spec.exclusionList` (the tag is never scanned, so no ImagePolicy picks it; note
the list is shared by every policy on that image). List edits are JSON patches guarded by a `test` of
the list the bot read, so a concurrent edit makes the patch fail (422) instead of being overwritten.

RBAC: get/patch on imagerepositories and imageupdateautomations (image.toolkit.fluxcd.io).
"""

from __future__ import annotations

import re
from typing import Any

from gitops_bot.adapters.flux import Flux, FluxError, FluxErrorKind

__all__ = ["FluxImages", "tag_pattern"]

_GROUP, _VERSION = "image.toolkit.fluxcd.io", "v1"
# ImageRepository's CRD default; the API server fills it in, so a served object always has a list.
_DEFAULT_EXCLUSIONS = ("^.*\\.sig$",)
_MAX_EXCLUSIONS = 25  # the CRD's maxItems


def tag_pattern(tag: str) -> str:
    """The exclusion regex for exactly one tag."""
    return f"^{re.escape(tag)}$"


class FluxImages:
    """Image automation calls; shares the Flux adapter's client and deadline."""

    def __init__(self, flux: Flux) -> None:
        self.flux = flux

    def _get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        what = f"get {plural} {namespace}/{name}"
        return self.flux.call(
            what, self.flux.api.get_namespaced_custom_object, _GROUP, _VERSION, namespace, plural, name
        )

    def _patch(self, plural: str, namespace: str, name: str, body: Any, content_type: str) -> None:
        what = f"patch {plural} {namespace}/{name}"
        fn = self.flux.api.patch_namespaced_custom_object
        self.flux.call(what, fn, _GROUP, _VERSION, namespace, plural, name, body, _content_type=content_type)

    def set_automation_suspended(self, namespace: str, name: str, suspended: bool) -> None:
        """Suspend (or resume) an ImageUpdateAutomation."""
        body = {"spec": {"suspend": suspended}}
        self._patch("imageupdateautomations", namespace, name, body, "application/merge-patch+json")

    def exclusions(self, namespace: str, name: str) -> tuple[str, ...]:
        """An ImageRepository's exclusion regexes."""
        spec = self._get("imagerepositories", namespace, name).get("spec", {})
        return tuple(spec.get("exclusionList", _DEFAULT_EXCLUSIONS))

    def exclude_tag(self, namespace: str, name: str, tag: str) -> bool:
        """Add the tag's regex to the exclusion list; False when it is already there."""
        current = self.exclusions(namespace, name)
        pattern = tag_pattern(tag)
        if pattern in current:
            return False
        if len(current) >= _MAX_EXCLUSIONS:
            raise FluxError(
                FluxErrorKind.INVALID,
                f"ImageRepository {namespace}/{name} already has {_MAX_EXCLUSIONS} exclusions",
            )
        self._replace_list(namespace, name, current, [*current, pattern])
        return True

    def lift_exclusion(self, namespace: str, name: str, tag: str) -> bool:
        """Remove the tag's regex again; False when it was not there."""
        current = self.exclusions(namespace, name)
        pattern = tag_pattern(tag)
        if pattern not in current:
            return False
        self._replace_list(namespace, name, current, [p for p in current if p != pattern])
        return True

    def _replace_list(self, namespace: str, name: str, seen: tuple[str, ...], new: list[str]) -> None:
        ops = [
            {"op": "test", "path": "/spec/exclusionList", "value": list(seen)},
            {"op": "replace", "path": "/spec/exclusionList", "value": new},
        ]
        self._patch("imagerepositories", namespace, name, ops, "application/json-patch+json")
