"""Stopping a `gitops-bot serve` the tests started, the way Kubernetes does: SIGTERM, then a deadline."""

import subprocess

# serve drains on SIGTERM (finishes the job in hand, stops every loop); on a 2-core machine that has
# taken over 60 s once in about ten runs (cause not yet found; see the issue-10 notes). Still well inside
# the pod's termination grace period (780 s).
STOP_DEADLINE = 150.0


def stop_serve(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGTERM and wait; a serve that ignores SIGTERM past the deadline is killed and fails the test."""
    proc.terminate()
    try:
        proc.wait(STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"serve did not stop within {STOP_DEADLINE:.0f} s of SIGTERM") from None
