"""Gathers the pre-act evidence from Alertmanager and Prometheus for the gate."""

from gitops_bot.adapters.alertmanager import AlertmanagerAPI
from gitops_bot.adapters.prometheus import PrometheusReader
from gitops_bot.core.culprit import Verdict
from gitops_bot.core.errors import AlertmanagerError
from gitops_bot.core.gate import Evidence, decide_gate, error_note, on_error_default
from gitops_bot.core.promql import render
from gitops_bot.core.route import Routed


def template_values(routed: Routed) -> dict[str, str]:
    """Values a verify query may use: every alert label plus agent, version and alertname."""
    values = dict(routed.alert.labels)
    values |= {"agent": routed.agent, "alertname": routed.alert.name, "version": routed.version or ""}
    return values


class PreActChecks:
    """Asks Alertmanager (silenced? still active?) and Prometheus (still_firing) right before acting."""

    def __init__(
        self,
        *,
        alertmanager: AlertmanagerAPI | None,
        prometheus_url: str | None,
        reader: PrometheusReader | None = None,
    ) -> None:
        self.alertmanager, self.prometheus_url = alertmanager, prometheus_url
        self.reader = reader or PrometheusReader()

    def _am(self, routed: Routed) -> tuple[str | None, str]:
        if self.alertmanager is None:
            return None, ""
        try:
            state = self.alertmanager.state_of(routed.alert)
        except AlertmanagerError as e:
            return "error", str(e)
        if state is None:
            return "gone", ""
        return ("suppressed" if state.state == "suppressed" else "active"), ""

    def _still_firing(self, routed: Routed) -> tuple[bool | None, str]:
        verify = routed.policy.verify
        if verify is None or verify.still_firing is None:
            return None, ""
        url = verify.prometheus or self.prometheus_url
        if url is None:
            return None, "no Prometheus URL in the policy's verify or in gitops-bot.yaml"
        return self.reader.nonempty(url, render(verify.still_firing, template_values(routed)))

    def __call__(self, routed: Routed) -> tuple[Verdict | None, str]:
        """The gate's verdict (None: act) and a note for the outcome."""
        am_state, am_error = self._am(routed)
        still, prom_error = self._still_firing(routed)
        evidence = Evidence(
            am_state=am_state, am_error=am_error, still_firing=still, prometheus_error=prom_error
        )
        verify = routed.policy.verify
        on_error = on_error_default(
            routed.alert.labels.get("severity", ""), verify.on_prometheus_error if verify else None
        )
        return decide_gate(evidence, on_error=on_error), error_note(evidence, on_error)
