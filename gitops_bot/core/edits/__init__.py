"""Byte-preserving readers and editors for manifest formats: YAML, JSON, Terraform/HCL (pure)."""

from gitops_bot.core.edits.dispatch import (
    DEFAULT_MAX_FILE_BYTES,
    decode,
    format_for,
    read_field,
    replace_field,
    resolve_file,
)
from gitops_bot.core.edits.tree import Outcome, Resolved, parse_path

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "Outcome",
    "Resolved",
    "decode",
    "format_for",
    "parse_path",
    "read_field",
    "replace_field",
    "resolve_file",
]
