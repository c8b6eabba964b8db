"""The Prometheus adapter: instant queries through prometheus-api-client, TLS verified, auth optional."""

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class PrometheusAccess:
    """How to talk to Prometheus. TLS certificates are always verified: against `ca_file` when
    given, else the system's CA bundle. At most one of bearer token and basic auth."""

    ca_file: Path | None = None
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # never print secrets into a log line
        return f"PrometheusAccess(ca_file={self.ca_file}, headers={[k for k, _ in self.headers]})"

    def session(self) -> requests.Session:
        """A requests session carrying the verification and credentials."""
        session = requests.Session()
        session.verify = str(self.ca_file) if self.ca_file else True
        session.headers.update(dict(self.headers))
        if self.bearer_token:
            session.headers["Authorization"] = f"Bearer {self.bearer_token}"
        if self.basic_auth:
            session.auth = self.basic_auth
        return session


class Prometheus:
    """Instant queries; every failure becomes PrometheusError naming the server."""

    def __init__(self, url: str, *, timeout: float = 5.0, access: PrometheusAccess | None = None) -> None:
        self.url = url
        # The client takes our session as is (verify = CA bundle path, auth, headers) and passes
        # session.verify on every request. No client-side retries: the caller decides what an
        # outage means (hold or proceed).
        self._client = PrometheusConnect(
            url=url,
            session=(access or PrometheusAccess()).session(),
            retry=Retry(total=0),
            timeout=timeout,
        )

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
    keep watching, do not tag). Clients are built once per server URL, all with the same access.
    """

    def __init__(self, *, timeout: float = 5.0, access: PrometheusAccess | None = None) -> None:
        self.timeout, self.access = timeout, access
        self._clients: dict[str, Prometheus] = {}

    def nonempty(self, url: str, promql: str) -> tuple[bool | None, str]:
        """(whether the instant query returned any sample, "") or (None, why it could not be asked)."""
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = Prometheus(url, timeout=self.timeout, access=self.access)
        try:
            return bool(client.query(promql)), ""
        except PrometheusError as e:
            return None, str(e)
