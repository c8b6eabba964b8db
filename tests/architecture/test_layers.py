"""The architecture the README describes is a check, not a claim.

`core` decides and never touches the world: no clock, no environment, no files (import-linter
already forbids processes, sockets, threads and outside-system clients). And the layer contract
really fails when someone breaks it.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "gitops_bot" / "core"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Attribute chains that read the clock, the environment or the file system.
FORBIDDEN_ATTRIBUTES = {
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "time.time",
    "time.monotonic",
    "time.perf_counter",
    "time.sleep",
    "os.getenv",
    "os.environ",
    "os.getcwd",
    "Path.cwd",
    "Path.home",
    "random.random",
}
FORBIDDEN_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "open"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def impure_reads(source: str) -> list[str]:
    """Clock, environment and file reads in one module's source, as `line: expression`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _dotted(node) in FORBIDDEN_ATTRIBUTES:
            found.append(f"{node.lineno}: {_dotted(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            found.append(f"{node.lineno}: open()")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FORBIDDEN_METHODS
        ):
            found.append(f"{node.lineno}: .{node.func.attr}()")
    return found


def test_core_reads_no_clock_environment_or_files() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sorted(CORE.rglob("*.py"))
        if (bad := impure_reads(path.read_text()))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nnow = datetime.now()\n",
        "import time\nt = time.time()\n",
        "import os\nx = os.environ['HOME']\n",
        "import os\nx = os.getenv('HOME')\n",
        "from pathlib import Path\nx = Path('f').read_text()\n",
        "x = open('f')\n",
    ],
)
def test_the_purity_check_catches_each_kind_of_read(source: str) -> None:
    assert impure_reads(source), source


def _copy_tree(tmp_path: Path) -> Path:
    work = tmp_path / "tree"
    shutil.copytree(ROOT / "gitops_bot", work / "gitops_bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "lab" / "gitops_bot_lab", work / "gitops_bot_lab", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / ".importlinter", work / ".importlinter")
    return work


def _lint_imports(work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=work,
        env={"PYTHONPATH": str(work), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_layer_contracts_hold_and_fail_when_a_git_call_moves_into_core(tmp_path: Path) -> None:
    work = _copy_tree(tmp_path)
    assert _lint_imports(work).returncode == 0

    culprit = work / "gitops_bot" / "core" / "culprit.py"
    culprit.write_text(culprit.read_text() + "\n\nimport git  # a git call moved into core\n")
    broken = _lint_imports(work)
    assert broken.returncode != 0
    assert "gitops_bot.core.culprit -> git" in broken.stdout


def test_core_may_not_import_the_app_layer(tmp_path: Path) -> None:
    work = _copy_tree(tmp_path)
    target = work / "gitops_bot" / "core" / "target.py"
    target.write_text(target.read_text() + "\n\nimport gitops_bot.app.engine\n")
    broken = _lint_imports(work)
    assert broken.returncode != 0
    assert "gitops_bot.core.target -> gitops_bot.app.engine" in broken.stdout
