"""gitops-bot: roll a rogue AI agent back to its last good version, in git."""

__version__ = "0.1.0"
