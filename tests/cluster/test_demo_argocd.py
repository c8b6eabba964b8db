"""`gitops-bot demo --argocd` runs the Argo CD flavour of the loop against the stand-in and says so."""

from pathlib import Path

import pytest

from gitops_bot_lab.demo_argocd import run_argocd_demo


def test_argocd_demo_shows_the_stand_in_and_the_phase_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_argocd_demo(tmp_path) == 0
    out = capsys.readouterr().out
    assert "Argo CD API STAND-IN (contract-checked fake, not a real Argo CD)" in out
    assert "== cluster watch: healthy" in out
    for phase in ("accepted", "landed", "synced", "healthy", "resolved"):
        assert f"  {phase:9} 20" in out, phase
    assert "synced +" in out and "recovered" in out
