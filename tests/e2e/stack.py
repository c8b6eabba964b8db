"""Test-only helpers around the monitoring lab: binaries must exist under CI."""

import os
import shutil

import pytest


def require_binary(name: str) -> str:
    """Path of a binary; pytest.fail under CI=true (it must be installed), else pytest.skip."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not found on PATH (Debian packages: prometheus, prometheus-alertmanager)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
