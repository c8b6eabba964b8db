"""How a manifest value relates to a version label (pure)."""


def matches_version(value: str | None, version: str) -> bool:
    """A value matches when equal, or an image ref ending in `:<version>` or `@<version>`."""
    if value is None or not version:
        return False
    return value == version or value.endswith(f":{version}") or value.endswith(f"@{version}")


def display_version(value: str | None) -> str:
    """The human version in a value: the tag or digest of an image ref, else the value itself."""
    if value is None:
        return "<none>"
    if "@" in value:
        return value.rsplit("@", 1)[1]
    head, sep, tag = value.rpartition(":")
    if sep and "/" not in tag and head:
        return tag
    return value
