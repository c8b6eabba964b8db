"""Pure decision logic tested with plain values: matchers, versions, paths, culprit, target, limits."""

from datetime import UTC, datetime, timedelta

import pytest

from gitops_bot.core.culprit import (
    CommitInfo,
    Snapshot,
    find_culprit,
    judge_culprit,
    key_fields,
    stale_version,
)
from gitops_bot.core.durations import parse_duration
from gitops_bot.core.limits import check_limits
from gitops_bot.core.matchers import parse_matcher
from gitops_bot.core.paths import file_in_paths, is_plain_name
from gitops_bot.core.policy import Limit
from gitops_bot.core.target import KnownGood, Target, choose_target
from gitops_bot.core.trailers import RollbackRecord
from gitops_bot.core.versions import display_version, matches_version

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def commit(n: int, message: str = "change", minutes_ago: int = 60) -> CommitInfo:
    return CommitInfo(
        f"{n:040d}", NOW - timedelta(minutes=minutes_ago), "dev <d@x>", message, (f"{n - 1:040d}",)
    )


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('alertname=~"Agent.*"', {"alertname": "AgentPolicyViolations"}, True),
        ('alertname=~"Agent"', {"alertname": "AgentPolicyViolations"}, False),  # anchored like Alertmanager
        ('severity!="info"', {"severity": "info"}, False),
        ('severity!="info"', {}, True),  # a missing label is the empty string
        ("team=billing", {"team": "billing"}, True),
        ('name!~"a|b"', {"name": "b"}, False),
        (r'summary="say \"hi\""', {"summary": 'say "hi"'}, True),
    ],
)
def test_matchers_follow_alertmanager_semantics(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("bad", ["alertname", '=~"x"', 'a=~"("', 'a=="x"'])
def test_malformed_matchers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_matcher(bad)


def test_version_matching_and_display() -> None:
    assert matches_version("registry:5000/acme/bot:2026.06.0", "2026.06.0")
    assert matches_version("prompts/bot@v2", "v2") and matches_version("v2", "v2")
    assert not matches_version("acme/bot:2026.06.01", "2026.06.0")
    assert not matches_version(None, "v2") and not matches_version("x:v2", "")
    assert display_version("registry:5000/acme/bot:1.2") == "1.2"
    assert display_version("registry:5000/acme/bot") == "registry:5000/acme/bot"
    assert display_version("acme/bot@sha256:abc") == "sha256:abc"


def test_plain_names_and_path_globs() -> None:
    assert is_plain_name("billing-agent") and is_plain_name("agent_2.v1")
    for bad in ("", "..", "../x", "a/b", "a..b", "-x", "x y"):
        assert not is_plain_name(bad), bad
    assert file_in_paths("agents/a/deep/x.yaml", ("agents/a/**",))
    assert not file_in_paths("agents/ab/x.yaml", ("agents/a/**",))
    assert file_in_paths("agents/a/x.yaml", ("agents/a/*.yaml",))


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    for bad in ("", "0s", "5", "5 m", "1y", 5):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_culprit_is_the_oldest_commit_of_the_current_run() -> None:
    history = (
        Snapshot(commit(4), ("img:v2", "v2")),  # later replicas change: same values
        Snapshot(commit(3), ("img:v2", "v2")),  # the release
        Snapshot(commit(2), ("img:v1", "v1")),
        Snapshot(commit(1), ("img:v0", "v0")),
    )
    culprit = find_culprit(iter(history), ("img:v2", "v2"), (0, 1))
    assert culprit is not None and culprit.commit.sha == commit(3).sha
    assert culprit.previous == ("img:v1", "v1")


def test_culprit_walk_stops_at_the_first_older_version() -> None:
    def history():  # type: ignore[no-untyped-def]
        yield Snapshot(commit(3), ("img:v2",))
        yield Snapshot(commit(2), ("img:v1",))
        raise AssertionError("read past the previous version")

    assert find_culprit(history(), ("img:v2",), (0,)) is not None


def test_key_fields_follow_the_alert_version() -> None:
    assert key_fields(("img:v2", "gpt-4o", None), "v2") == (0,)
    assert key_fields(("img:v2", "gpt-4o", None), None) == (0, 1)
    assert stale_version(("img:v1",), "v2") is not None
    assert stale_version(("img:v2",), "v2") is None and stale_version(("img:v1",), None) is None


def test_judge_refuses_rollbacks_opt_outs_and_alerts_older_than_the_commit() -> None:
    culprit = find_culprit(iter((Snapshot(commit(2), ("v2",)), Snapshot(commit(1), ("v1",)))), ("v2",), (0,))
    assert culprit is not None
    assert judge_culprit(culprit, alert_started=NOW) is None
    assert judge_culprit(culprit, alert_started=NOW - timedelta(hours=2)).code == "predates_commit"  # type: ignore[union-attr]
    bot = culprit.__class__(commit(2, "Roll back x\n\nRollback-Of: abc\nRollback-Agent: x"), ("v2",), ("v1",))
    assert judge_culprit(bot, alert_started=NOW).code == "rollback_of_rollback"  # type: ignore[union-attr]
    never = culprit.__class__(commit(2, "Release\n\nRollback: never"), ("v2",), ("v1",))
    assert judge_culprit(never, alert_started=NOW).code == "opted_out"  # type: ignore[union-attr]


def test_target_restores_only_fields_the_culprit_changed_and_later_edits_stay() -> None:
    culprit = find_culprit(
        iter(
            (
                Snapshot(commit(3), ("img:v2", "m2")),
                Snapshot(commit(2), ("img:v2", "m1")),
                Snapshot(commit(1), ("img:v1", "m1")),
            )
        ),
        ("img:v2", "m2"),
        (0,),
    )
    assert culprit is not None and culprit.commit.sha == commit(2).sha
    target = choose_target(culprit, ("img:v2", "m2"), ())
    assert isinstance(target, Target) and target.values == ("img:v1", "m2")


def test_known_good_wins_when_usable() -> None:
    culprit = find_culprit(
        iter((Snapshot(commit(3), ("img:v3",)), Snapshot(commit(2), ("img:v2",)))), ("img:v3",), (0,)
    )
    assert culprit is not None
    good = KnownGood("known-good/a/x", commit(1), ("img:v1",))
    target = choose_target(culprit, ("img:v3",), (good,))
    assert isinstance(target, Target) and target.values == ("img:v1",) and "known-good" in target.source
    useless = KnownGood("known-good/a/y", commit(1), (None,))
    fallback = choose_target(culprit, ("img:v3",), (useless,))
    assert isinstance(fallback, Target) and fallback.values == ("img:v2",)


def record(agent: str, minutes_ago: int) -> RollbackRecord:
    return RollbackRecord(
        "s", NOW - timedelta(minutes=minutes_ago), agent, "v2", "v1", "c", "A", "f", "p", "auto"
    )


def test_limits_count_inside_the_window_only() -> None:
    per_agent, fleet = Limit(1, timedelta(hours=1)), Limit(3, timedelta(minutes=10))
    args = {"agent": "a", "per_agent": per_agent, "fleet": fleet, "now": NOW}
    assert check_limits((record("a", 61),), **args) is None  # type: ignore[arg-type]
    assert check_limits((record("a", 59),), **args).code == "limit"  # type: ignore[arg-type,union-attr]
    fleet_records = (record("b", 1), record("c", 2), record("d", 9), record("e", 11))
    assert check_limits(fleet_records, **args).code == "breaker"  # type: ignore[arg-type,union-attr]
    assert check_limits(fleet_records[1:], **args) is None  # type: ignore[arg-type]
