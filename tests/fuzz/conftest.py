"""Print how many inputs each fuzz target ran (make fuzz shows the numbers)."""

import pytest

from tests.fuzz.budget import EXAMPLES, EXECUTIONS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if EXECUTIONS:
        total = sum(EXECUTIONS.values())
        terminalreporter.section(f"fuzz: {total} executions ({EXAMPLES} examples per target)")
        for name, count in sorted(EXECUTIONS.items()):
            terminalreporter.write_line(f"{name}: {count} executions")
