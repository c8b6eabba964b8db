"""Outside command-line tools the manifest tests run: found on PATH, or the test fails under CI."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# tests/manifests/install-tools.sh may put kubectl into the project's venv rather than on PATH.
VENV_BIN = str(Path(sys.executable).parent)


def require_tool(name: str, how_to_install: str) -> str:
    """Path of `name`; under CI=true a missing tool fails the test (it must be installed), else skips."""
    path = shutil.which(name) or shutil.which(name, path=VENV_BIN)
    if path is None:
        reason = f"{name} not on PATH ({how_to_install})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run_tool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a tool with a deadline, capturing text output; the caller asserts on the result."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
