"""Agent path templates (`agents/{agent}/**`) expanded and matched (pure)."""

import re
from functools import lru_cache

_AGENT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$")


def is_plain_name(value: str) -> bool:
    """Whether a label value is safe to put into a path: no separators, no dot-dot, not empty.

    fullmatch, not match: `$` would let a trailing newline through.
    """
    return bool(_AGENT_NAME.fullmatch(value)) and ".." not in value


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def file_in_paths(file: str, patterns: tuple[str, ...]) -> bool:
    """Whether a repo-relative file matches any of the glob patterns (`**` crosses folders)."""
    return any(_glob_regex(p).fullmatch(file) for p in patterns)
