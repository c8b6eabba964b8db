"""Outside programs the tests run: found on PATH (or in the project's venv), or the test fails under CI.

Outside CI a missing program skips the test with how to install it; under CI=true it fails, because
.ci/run installs everything the suite needs and a skip there would hide a missing install step.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# tests/manifests/install-tools.sh may put kubectl into the project's venv rather than on PATH.
VENV_BIN = str(Path(sys.executable).parent)


def require_tool(name: str, how_to_install: str) -> str:
    """Path of `name`; under CI=true a missing tool fails the test, else it skips."""
    path = shutil.which(name) or shutil.which(name, path=VENV_BIN)
    if path is None:
        reason = f"{name} not on PATH ({how_to_install})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def require_binary(name: str) -> str:
    """Prometheus, promtool or Alertmanager (Debian packages prometheus, prometheus-alertmanager)."""
    return require_tool(name, "Debian packages: prometheus, prometheus-alertmanager")


def run_tool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a tool with a deadline, capturing text output; the caller asserts on the result."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
