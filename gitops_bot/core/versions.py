"""How a manifest value relates to a version label (pure).

A value carries the alert's version `v` when it is `v`, or an image/chart reference ending in
`:v`, `@v` or `:v@sha256:…` (Renovate's tag+digest pin). With a prefix (`versionPrefix: v`) the
value may write `v1.4.0` where the alert says `1.4.0`. An alert naming a digest matches a
digest-only pin (`repo@sha256:…`) through the `@v` rule.
"""

import re

_DIGEST = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,}$")


def _tag_part(value: str) -> str:
    """The value without a trailing `@algo:digest` when a tag stands before it."""
    head = _DIGEST.sub("", value)
    return head if head != value and _has_tag(head) else value


def _has_tag(ref: str) -> bool:
    _, sep, tag = ref.rpartition(":")
    return bool(sep) and "/" not in tag


def matches_version(value: str | None, version: str, prefix: str = "") -> bool:
    """Whether a field value carries the alert's version."""
    if value is None or not version:
        return False
    tagged = _tag_part(value)
    for want in dict.fromkeys((version, prefix + version)):
        if want in (value, tagged) or tagged.endswith(f":{want}") or value.endswith(f"@{want}"):
            return True
    return False


def display_version(value: str | None, prefix: str = "") -> str:
    """The version as alerts name it: the tag (or digest) of a reference, without the field's prefix."""
    if value is None:
        return "<none>"
    tagged = _tag_part(value)
    if tagged != value:
        shown = tagged.rpartition(":")[2]
    elif "@" in value:
        shown = value.rsplit("@", 1)[1]
    elif _has_tag(value) and value.rpartition(":")[0]:
        shown = value.rpartition(":")[2]
    else:
        shown = value
    return shown[len(prefix) :] if prefix and shown.startswith(prefix) and len(shown) > len(prefix) else shown


def unmatched_prefix(value: str, version: str) -> str:
    """The letters standing before the version in the value's tag (`v` in `v1.4.0`), if that is all."""
    shown = display_version(value)
    head = shown[: -len(version)] if version and shown.endswith(version) else ""
    return head if head and re.fullmatch(r"[A-Za-z][A-Za-z_-]{0,15}", head) else ""
