"""The Prometheus adapter: instant queries through prometheus-api-client."""

from dataclasses import dataclass

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from gitops_bot.core.errors import PrometheusError


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query result."""

    labels: dict[str, str]
    value: float


class Prometheus:
    """Instant queries; every failure becomes PrometheusError naming the server."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        # No client-side retries: the caller decides what an outage means (hold or proceed).
        self._client = PrometheusConnect(url=url, disable_ssl=True, retry=Retry(total=0), timeout=timeout)

    def query(self, promql: str) -> list[Sample]:
        """Run an instant query; vector results become samples, a scalar one sample."""
        try:
            result = self._client.custom_query(query=promql)
        except (PrometheusApiClientException, requests.RequestException, ValueError) as e:
            raise PrometheusError(f"Prometheus {self.url} query failed: {e}") from e
        samples = []
        for item in result if isinstance(result, list) else []:
            if isinstance(item, dict) and "value" in item:
                samples.append(Sample(labels=dict(item.get("metric", {})), value=float(item["value"][1])))
        return samples


class PrometheusReader:
    """The one way the app asks Prometheus a yes/no question; subclass it to fake Prometheus.

    "Does this query return anything?" is all the gate, the recovery watcher and watch-good need.
    An outage is an answer too (None plus the reason): each caller decides what it means (hold,
    keep watching, do not tag). Clients are built once per server URL.
    """

    def __init__(self, *, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._clients: dict[str, Prometheus] = {}

    def nonempty(self, url: str, promql: str) -> tuple[bool | None, str]:
        """(whether the instant query returned any sample, "") or (None, why it could not be asked)."""
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = Prometheus(url, timeout=self.timeout)
        try:
            return bool(client.query(promql)), ""
        except PrometheusError as e:
            return None, str(e)
