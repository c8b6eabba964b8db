"""Prometheus reads through the one adapter against a REAL Prometheus with TLS and basic auth."""

import base64
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
import requests
import yaml

from gitops_bot.adapters.prometheus import PrometheusAccess, PrometheusReader
from gitops_bot.app.config import load_config
from gitops_bot.app.wiring import make_reader
from gitops_bot.core.errors import ConfigError
from tests.binaries import require_binary
from tests.observe.test_escalations_alertmanager import wait_for
from tests.test_crash_and_cli import free_port


@dataclass(frozen=True)
class SecurePrometheus:
    url: str
    ca: Path


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[SecurePrometheus]:
    binary = require_binary("prometheus")
    require_binary("openssl")
    cert, key = self_signed(tmp_path)
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()  # the web config wants bcrypt
    web = tmp_path / "web.yml"
    web.write_text(
        yaml.safe_dump(
            {
                "tls_server_config": {"cert_file": str(cert), "key_file": str(key)},
                "basic_auth_users": {"bot": hashed},
            }
        )
    )
    (tmp_path / "prometheus.yml").write_text("global: {scrape_interval: 1s}\n")
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.config.file={web}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"https://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
        try:
            return requests.get(f"{url}/-/ready", verify=str(cert), auth=("bot", "s3cret"), timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(ready, 30)
        yield SecurePrometheus(url, cert)
    finally:
        proc.terminate()
        proc.wait(15)


def test_queries_verify_tls_against_the_ca_file_and_send_basic_auth(prometheus: SecurePrometheus) -> None:
    reader = PrometheusReader(access=PrometheusAccess(ca_file=prometheus.ca, basic_auth=("bot", "s3cret")))
    assert reader.nonempty(prometheus.url, "vector(1)") == (True, "")
    assert reader.nonempty(prometheus.url, "vector(1) > 2") == (False, "")


def test_tls_verification_is_on_by_default(prometheus: SecurePrometheus) -> None:
    reader = PrometheusReader(access=PrometheusAccess(basic_auth=("bot", "s3cret")))
    holds, why = reader.nonempty(prometheus.url, "vector(1)")
    assert holds is None and "CERTIFICATE_VERIFY_FAILED" in why


def test_a_wrong_password_is_an_outage_not_an_answer(prometheus: SecurePrometheus) -> None:
    reader = PrometheusReader(access=PrometheusAccess(ca_file=prometheus.ca, basic_auth=("bot", "nope")))
    holds, why = reader.nonempty(prometheus.url, "vector(1)")
    assert holds is None and "401" in why


def test_gitops_bot_yaml_wires_ca_basic_auth_and_headers(
    prometheus: SecurePrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        "repo: {url: file:///nowhere.git}\n"
        f"prometheus: {{url: '{prometheus.url}', ca_file: {prometheus.ca.name},\n"
        "  basic_auth: {username: bot, password_env: TEST_PROM_PASSWORD}, headers: {X-Scope-OrgID: team-a}}\n"
    )
    monkeypatch.setenv("TEST_PROM_PASSWORD", "s3cret")
    reader = make_reader(load_config(config))
    assert reader.access is not None and reader.access.headers == (("X-Scope-OrgID", "team-a"),)
    assert "s3cret" not in repr(reader.access)
    assert reader.nonempty(prometheus.url, "vector(1)") == (True, "")
    monkeypatch.delenv("TEST_PROM_PASSWORD")
    with pytest.raises(ConfigError, match=r"password_env: \$TEST_PROM_PASSWORD is not set"):
        make_reader(load_config(config))


def test_basic_and_bearer_auth_exclude_each_other(tmp_path: Path) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        "repo: {url: file:///nowhere.git}\nprometheus: {url: 'https://p', bearer_token_env: T,\n"
        "  basic_auth: {username: bot, password_env: P}}\n"
    )
    with pytest.raises(ConfigError, match="exclude each other"):
        load_config(config)


def test_extra_headers_and_the_bearer_token_reach_the_server(prometheus: SecurePrometheus) -> None:
    # Prometheus' web config only knows basic auth, so the proof is what its auth check makes of
    # the Authorization header we send: a hand-built Basic header passes, a Bearer token does not.
    basic = "Basic " + base64.b64encode(b"bot:s3cret").decode()
    by_header = PrometheusReader(
        access=PrometheusAccess(ca_file=prometheus.ca, headers=(("Authorization", basic),))
    )
    assert by_header.nonempty(prometheus.url, "vector(1)") == (True, "")
    bearer = PrometheusReader(access=PrometheusAccess(ca_file=prometheus.ca, bearer_token="tok"))
    holds, why = bearer.nonempty(prometheus.url, "vector(1)")
    assert holds is None and "401" in why
