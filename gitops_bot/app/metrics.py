"""Prometheus metrics of the bot itself, in a registry per instance."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Alerts received/ignored, rollbacks by outcome, alert-to-push latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "gitops_bot_alerts_received",
            "Alerts received in webhook bodies.",
            ["status"],
            registry=self.registry,
        )
        self.alerts_ignored = Counter(
            "gitops_bot_alerts_ignored",
            "Alerts deliberately not acted on.",
            ["reason"],
            registry=self.registry,
        )
        self.rollbacks = Counter(
            "gitops_bot_rollbacks",
            "Handled alerts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "gitops_bot_webhook_rejected",
            "Webhook requests refused.",
            ["code"],
            registry=self.registry,
        )
        self.alert_to_push = Histogram(
            "gitops_bot_alert_to_push_seconds",
            "From webhook receipt to the rollback pushed.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )

        self.recoveries = Counter(
            "gitops_bot_recoveries",
            "Watched rollbacks by how they ended.",
            ["result"],
            registry=self.registry,
        )
        self.alert_to_recovery = Histogram(
            "gitops_bot_alert_to_recovery_seconds",
            "From the alert starting to the agent recovering.",
            buckets=(10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=self.registry,
        )

        self.policy_unresolved = Gauge(
            "gitops_bot_policy_unresolved",
            "1 while a policy resolves no agent at the repo head (every alert it claims would find nothing).",
            ["policy"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text for GET /metrics."""
        return generate_latest(self.registry)
