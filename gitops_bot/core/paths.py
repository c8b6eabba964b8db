"""Agent path templates (`agents/{agent}/**`) expanded and matched (pure)."""

import re
from functools import lru_cache

# Used with fullmatch only: `$` with .match() lets a trailing "\n" through, and a name with a newline
# desynchronises GitPython's long-lived `git cat-file --batch` process.
_AGENT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")


def has_control(value: str) -> bool:
    """Whether a text holds any control character (C0, DEL, C1) or a Unicode line/paragraph separator."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value)


def is_plain_name(value: str) -> bool:
    """Whether a label value is safe to put into a path: no separators, no dot-dot, not empty, no
    control character.

    fullmatch, not match: `$` would let a trailing newline through.
    """
    return bool(_AGENT_NAME.fullmatch(value)) and ".." not in value and not has_control(value)


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
