"""`gitops-bot demo --executor argo-workflows` runs the shipped template on the stand-in to a revert."""

import pytest

from gitops_bot.cli import main


def test_the_argo_workflows_demo_lands_one_revert_after_the_veto_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--executor", "argo-workflows"]) == 0
    out = capsys.readouterr().out
    assert "Argo Workflows STAND-IN" in out
    assert out.count("already submitted") == 2  # three POSTs of the same alert, one workflow
    assert 'approve  Succeeded  {"approvedBy": "veto-window-expired"' in out
    assert (
        "Approved-By: veto-window-expired" in out and "Roll back billing-agent 2026.06.0 -> 2026.05.2" in out
    )
