"""Text-level helpers over the YAML editor, kept for callers that hold a str (the lab, old tests).

New code uses `gitops_bot.core.edits`, which works on bytes and knows every format.
"""

from gitops_bot.core.edits import Outcome, parse_path, read_field, replace_field
from gitops_bot.core.edits.yaml_format import compose

__all__ = ["check_yaml", "parse_path", "read_value", "replace_value"]


def check_yaml(text: str) -> None:
    """Raise YamlPathError when the text is not valid YAML."""
    compose(text)


def read_value(text: str | None, path: str) -> str | None:
    """The scalar's value, or None when the text or path is missing (or cannot be read safely)."""
    if text is None:
        return None
    found = read_field("doc.yaml", text.encode("utf-8"), path, named=True, max_bytes=len(text.encode()) + 1)
    return found.scalar.value if found.outcome is Outcome.FOUND and found.scalar else None


def replace_value(text: str, path: str, new_value: str) -> str:
    """Return text with only the scalar at path replaced; raise YamlPathError if it cannot be."""
    raw = text.encode("utf-8")
    return replace_field("doc.yaml", raw, path, new_value, max_bytes=len(raw) + 1).decode("utf-8")
