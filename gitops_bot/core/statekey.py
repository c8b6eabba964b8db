"""The state key: HMACs over what the bot writes where others can write too (tags, PR tickets) (pure).

Anyone who can push to the GitOps repo can push a tag, and anyone who can edit a PR can edit its
body; only holders of the state key can make an authenticator the bot accepts. The key is a list so
it can be rotated: the first signs, every one verifies.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass

from gitops_bot.core.errors import ConfigError

AUTH_TRAILER = "Gitops-Bot-Auth"
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class TagRecord:
    """A tag as git shows it: name (under refs/tags/), the commit it points at, its message."""

    name: str
    target: str
    message: str
    annotated: bool


@dataclass(frozen=True)
class StateKeys:
    """Current key first, then previous ones still accepted; `insecure`: no key, trust as before."""

    keys: tuple[bytes, ...] = ()
    insecure: bool = False

    @classmethod
    def parse(cls, text: str | None, *, where: str, insecure: bool = False) -> "StateKeys":
        """Comma-separated keys (current first); empty means none."""
        keys = tuple(k.strip().encode() for k in (text or "").split(",") if k.strip())
        if short := [i for i, k in enumerate(keys) if len(k) < MIN_KEY_LENGTH]:
            raise ConfigError(f"{where}: key(s) {short} shorter than {MIN_KEY_LENGTH} characters")
        return cls(keys, insecure=insecure and not keys)

    @property
    def configured(self) -> bool:
        """Whether a key is set (else nothing can be signed)."""
        return bool(self.keys)

    def sign(self, purpose: str, *parts: str) -> str:
        """Hex HMAC-SHA256 under the current key over a purpose and the parts (unambiguously joined)."""
        if not self.keys:
            raise ConfigError("no state key is configured: cannot sign gitops-bot state (state_key_env)")
        return _mac(self.keys[0], purpose, parts)

    def verify(self, mac: str, purpose: str, *parts: str) -> bool:
        """Whether mac authenticates the parts under any accepted key (constant-time compare)."""
        if self.insecure:
            return True
        return any(hmac.compare_digest(_mac(k, purpose, parts), mac) for k in self.keys)


def _mac(key: bytes, purpose: str, parts: tuple[str, ...]) -> str:
    data = json.dumps([purpose, *parts], ensure_ascii=True, separators=(",", ":")).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal_tag(keys: StateKeys, name: str, target: str, message: str) -> str:
    """The tag message with its authenticator as the last line (none in insecure mode)."""
    body = message.strip("\n")
    if keys.insecure:
        return body + "\n"
    return f"{body}\n{AUTH_TRAILER}: {keys.sign('tag', name, target, body)}\n"


def tag_is_authentic(keys: StateKeys, tag: TagRecord) -> bool:
    """Whether an annotated tag's message ends with a valid authenticator over name, target, message."""
    if keys.insecure:
        return True
    if not tag.annotated:  # a lightweight tag shows its commit's message, which anyone writes
        return False
    name, target = tag.name, tag.target
    body, sep, last = tag.message.strip("\n").rpartition("\n")
    key, colon, mac = last.partition(":")
    if not sep or not colon or key != AUTH_TRAILER:
        return False
    return keys.verify(mac.strip(), "tag", name, target, body.strip("\n"))
