"""The last check before acting: is the alert still real, and not silenced? (pure)."""

from dataclasses import dataclass

from gitops_bot.core.culprit import Verdict


@dataclass(frozen=True)
class Evidence:
    """What Alertmanager and Prometheus said right before acting (None: not configured)."""

    am_state: str | None = None  # active | suppressed | gone | error
    am_error: str = ""
    still_firing: bool | None = None
    prometheus_error: str = ""


def on_error_default(severity: str, configured: str | None) -> str:
    """`proceed` for critical alerts, `hold` for the rest, unless the policy says otherwise."""
    return configured or ("proceed" if severity == "critical" else "hold")


def decide_gate(evidence: Evidence, *, on_error: str) -> Verdict | None:
    """None to act; otherwise why not (ignore: the alert is over; hold: ask again later)."""
    if evidence.am_state == "suppressed":
        return Verdict("ignore", "silenced or inhibited in Alertmanager: operators said stop", "silenced")
    if evidence.am_state == "gone":
        return Verdict(
            "ignore", "no longer active in Alertmanager: it resolved before the bot acted", "resolved"
        )
    if evidence.still_firing is False:
        return Verdict("ignore", "still_firing query returned nothing: the alert is over", "not_firing")
    for source, error in (("Alertmanager", evidence.am_error), ("Prometheus", evidence.prometheus_error)):
        if error and on_error == "hold":
            return Verdict(
                "hold", f"{source} unreachable, holding (onPrometheusError: hold): {error}", "hold"
            )
    return None


def error_note(evidence: Evidence, on_error: str) -> str:
    """What the outcome should say when an outage was overridden by `proceed`."""
    errors = [e for e in (evidence.am_error, evidence.prometheus_error) if e]
    return f" (checks unavailable, proceeding per onPrometheusError: {on_error})" if errors else ""
