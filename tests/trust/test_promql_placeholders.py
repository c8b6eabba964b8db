"""Finding 8: the PromQL placeholder check follows PromQL's lexer; regex matchers get escaped values."""

from pathlib import Path

import pytest

from gitops_bot.core.promql import escape_regex, render, template_problems
from tests.conftest import policy_yaml
from tests.test_crash_and_cli import cli


@pytest.mark.parametrize(
    ("template", "place"),
    [
        ("up{agent='{agent}'}", "single-quoted"),
        ("up{agent=`{agent}`}", "raw string"),
        ('up{agent="x"} # "{agent}"\n or {agent}', "outside any string"),
        ('up{agent="x"} # {agent}', "in a comment"),
        ("up{agent='\"'} > {agent} # '\"{agent}\"'", "outside any string"),
        ('up{agent="{agent}}', "unterminated"),
    ],
)
def test_placeholders_outside_double_quoted_strings_are_refused(template: str, place: str) -> None:
    problems = template_problems(template)
    assert problems and any(place in p for p in problems), problems
    with pytest.raises(ValueError):
        render(template, {"agent": "x"})


def test_double_quoted_placeholders_are_accepted_and_string_escaped() -> None:
    assert template_problems('up{agent="a\\"} > {agent} # "') == []  # an escaped quote: still inside
    template = 'sum(up{agent="{agent}", job="a#b", x=\'#\'}) # comment "{not_a_placeholder_problem"'
    evil = 'x"} or vector(1) # '
    assert render('up{agent="{agent}"}', {"agent": evil}) == 'up{agent="x\\"} or vector(1) # "}'
    assert template_problems(template) == []


def test_values_inside_regex_matchers_are_regex_escaped_too() -> None:
    rendered = render(
        'up{agent=~"{agent}", v!~"{version}", e="{agent}"}', {"agent": ".*", "version": "1.0+b"}
    )
    assert rendered == 'up{agent=~"\\\\.\\\\*", v!~"1\\\\.0\\\\+b", e=".*"}'
    assert escape_regex("a|b(c)[d]{e}^$\\") == "a\\|b\\(c\\)\\[d\\]\\{e\\}\\^\\$\\\\"


def test_policy_check_refuses_a_single_quoted_placeholder(tmp_path: Path) -> None:
    verify = {"still_firing": "ALERTS{agent='{agent}'}", "prometheus": "http://127.0.0.1:9"}
    (tmp_path / "bad.yaml").write_text(policy_yaml(verify=verify))
    result = cli("policy", "check", str(tmp_path))
    assert result.returncode == 1 and "single-quoted" in result.stderr, result.stderr
