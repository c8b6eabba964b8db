"""Prometheus metrics of the bot itself, in a registry per instance."""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from gitops_bot import __version__


class Metrics:
    """Alerts by outcome, escalations, journal, sync and latency series, plus process_*/python_*."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        Gauge("gitops_bot_build_info", "Always 1; the running version.", ["version"], registry=r).labels(
            __version__
        ).set(1)
        self.alerts_received = Counter(
            "gitops_bot_alerts_received", "Alerts received in webhook bodies.", ["status"], registry=r
        )
        self.alerts_ignored = Counter(
            "gitops_bot_alerts_ignored", "Alerts deliberately not acted on.", ["reason"], registry=r
        )
        # Was gitops_bot_rollbacks_total{outcome}: it counted every handled alert, ignored ones too.
        self.alerts_handled = Counter(
            "gitops_bot_alerts_handled",
            "Journaled alerts by how handling them ended (rolled_back, ignored, escalated, failed, …).",
            ["outcome"],
            registry=r,
        )
        self.webhook_rejected = Counter(
            "gitops_bot_webhook_rejected", "Webhook requests refused.", ["code"], registry=r
        )
        self.push_races_lost = Counter(
            "gitops_bot_push_races_lost",
            "Rollback pushes refused because the branch moved meanwhile (each one redone).",
            registry=r,
        )
        self.untrusted_state = Counter(
            "gitops_bot_untrusted_state",
            "Rollback records and bot tags in git that failed their proof or authenticator (ignored).",
            ["kind"],
            registry=self.registry,
        )
        self.alert_to_push = Histogram(
            "gitops_bot_alert_to_push_seconds",
            "From webhook receipt to the rollback pushed.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=r,
        )
        self.recoveries = Counter(
            "gitops_bot_recoveries", "Watched rollbacks by how they ended.", ["result"], registry=r
        )
        self.alert_to_recovery = Histogram(
            "gitops_bot_alert_to_recovery_seconds",
            "From the alert starting to the agent recovering.",
            buckets=(10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.escalations = Counter(
            "gitops_bot_escalations",
            "Escalations raised (paged when Alertmanager is set).",
            ["reason"],
            registry=r,
        )
        self.escalations_open = Gauge(
            "gitops_bot_escalations_open",
            "Escalations open now (posted to Alertmanager).",
            ["reason"],
            registry=r,
        )
        self.last_sync = Gauge(
            "gitops_bot_last_successful_sync_timestamp_seconds",
            "Unix time of the last successful sync with git (fetch) or Alertmanager (resync).",
            ["source"],
            registry=r,
        )
        self.journal_depth = Gauge(
            "gitops_bot_journal_depth", "Alerts accepted but not yet handled (journal entries).", registry=r
        )
        self.journal_oldest_age = Gauge(
            "gitops_bot_journal_oldest_age_seconds",
            "Age of the oldest alert still in the journal (0 when empty).",
            registry=r,
        )
        self.policy_unresolved = Gauge(
            "gitops_bot_policy_unresolved",
            "1 while a policy resolves no agent at the repo head (every alert it claims would find nothing).",
            ["policy"],
            registry=r,
        )

    def watch_journal(self, depth: Callable[[], tuple[int, float]]) -> None:
        """Read the journal's (depth, oldest age) at every scrape."""
        self.journal_depth.set_function(lambda: float(depth()[0]))
        self.journal_oldest_age.set_function(lambda: depth()[1])

    def render(self) -> bytes:
        """The exposition text for GET /metrics."""
        return generate_latest(self.registry)
