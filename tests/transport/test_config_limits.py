"""The new gitops-bot.yaml keys: git deadlines, the rollback redo deadline, server limits."""

from pathlib import Path

import pytest
import yaml

from gitops_bot.adapters.gitrun import GitLimits
from gitops_bot.app.config import parse_config
from gitops_bot.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "gitops-bot.example.yaml"


def test_the_example_config_documents_every_limit_with_its_default() -> None:
    config = parse_config(yaml.safe_load(EXAMPLE.read_text()), base=EXAMPLE.parent)
    assert config.git == GitLimits()  # the example shows the defaults
    assert (config.rollback_deadline, config.max_body, config.threads, config.read_timeout) == (
        120.0,
        8 * 1024 * 1024,
        8,
        10.0,
    )


def test_limits_are_read_and_checked() -> None:
    raw = {
        "repo": {"url": "file:///srv/x.git"},
        "git": {"network_timeout": "30s", "local_timeout": "5s", "low_speed_time": "3s"},
        "rollback": {"deadline": "45s"},
        "server": {"max_body_bytes": 65536, "threads": 2, "read_timeout": "2s"},
    }
    config = parse_config(raw, base=Path("."))
    assert (config.git.network_timeout, config.git.local_timeout, config.git.low_speed_time) == (30, 5, 3)
    assert config.git.deadline("push") == 30 and config.git.deadline("log") == 5
    assert (config.rollback_deadline, config.max_body, config.threads, config.read_timeout) == (
        45,
        65536,
        2,
        2,
    )


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"git": {"network_timeout": "soon"}}, "git.network_timeout"),
        ({"git": {"low_speed_limit": 0}}, "git.low_speed_limit"),
        ({"rollback": {"deadline": "-1m"}}, "rollback.deadline"),
        ({"server": {"threads": 0}}, "server.threads"),
        ({"server": {"max_body_bytes": "8MiB"}}, "server.max_body_bytes"),
        ({"git": {"timeout": "1m"}}, "git.timeout"),  # unknown keys are refused, not ignored
    ],
)
def test_bad_limits_are_clear_config_errors(section: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
        parse_config({"repo": {"url": "file:///srv/x.git"}, **section}, base=Path("."))
