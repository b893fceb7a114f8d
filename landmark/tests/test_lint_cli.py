"""`landmark lint FILE`: the coach's offline rules on OKRs kept in YAML, one line per
finding, exit code 1 on a warning, 2 on a file it cannot read (docs/coach.md)."""

from pathlib import Path

import pytest

from landmark import cli

# Seed article 000's objective with its key results, plus a task posing as a key
# result; and an objective with six key results and a number in its title.
OKRS = """\
period: Q3 2027
objectives:
  - title: Increase Brand Awareness in the Midwest
    team: Marketing
    owner: dana@acme.test
    key_results:
      - title: Increase website traffic by 40%
        start: 30000
        target: 42000
      - title: Launch virtual midwest road show tour in three cities by 6/20/2020
        kind: milestone
      - title: Launch the new website
        kind: milestone
      - title: Keep renewal rate at or above 95 %
        kind: threshold
        at_least: 95
  - title: Grow revenue by 20%
    owner: bob@acme.test
    key_results:
      - {title: Sign customers 1, start: 0, target: 5}
      - {title: Sign customers 2, start: 0, target: 5}
      - {title: Sign customers 3, start: 0, target: 5}
      - {title: Sign customers 4, start: 0, target: 5}
      - {title: Sign customers 5, start: 0, target: 5}
      - {title: Write the pricing page}
"""


def run(capsys, *args: str) -> tuple[int, list[str], str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(["lint", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out.splitlines(), err


def write(tmp_path: Path, text: str, name: str = "okrs.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_findings_one_line_each_and_exit_code_1_on_a_warning(tmp_path, capsys):
    path = write(tmp_path, OKRS)
    code, lines, err = run(capsys, path)
    assert code == 1 and err == ""
    assert lines == [
        f"{path}:Grow revenue by 20%: kr-count warning It has 6 key results; aim for 2 to 5.",
        f"{path}:Grow revenue by 20%: objective-numbers info Its title has numbers in it.",
        f"{path}:Grow revenue by 20% › Write the pricing page: kr-no-target warning It has no start and target to measure it by.",
        f"{path}:Grow revenue by 20% › Write the pricing page: kr-initiative warning It reads like a task with no measure.",
    ]


def test_rules_off_and_thresholds_from_the_command_line(tmp_path, capsys):
    path = write(tmp_path, OKRS)
    code, lines, _ = run(
        capsys,
        path,
        "--off",
        "kr-no-target",
        "--off",
        "kr-initiative",
        "--max-key-results",
        "6",
    )
    # Only an info is left: exit code 0.
    assert code == 0
    assert [line.split(": ")[1].split()[0] for line in lines] == ["objective-numbers"]


def test_too_many_objectives_for_a_team_and_no_owner(tmp_path, capsys):
    objectives = "".join(
        f"  - title: Objective {c}\n    team: Sales\n    key_results:\n"
        "      - {title: Sign customers, start: 0, target: 5}\n"
        "      - {title: Keep customers, start: 0, target: 5}\n"
        for c in "ABCDEF"
    )
    path = write(tmp_path, "objectives:\n" + objectives)
    code, lines, _ = run(capsys, path, "--off", "kr-no-owner")
    assert code == 1
    assert lines == [
        f"{path}:team Sales: team-objectives warning 6 objectives; aim for at most 5."
    ]
    _, lines, _ = run(capsys, path)
    assert (
        f"{path}:Objective A › Sign customers: kr-no-owner warning It has no owner (nor has its objective)."
        in lines
    )


def test_a_clean_file_says_nothing_and_exits_0(tmp_path, capsys):
    path = write(
        tmp_path,
        "objectives:\n"
        "  - title: Delight our customers\n"
        "    owner: bob@acme.test\n"
        "    key_results:\n"
        "      - {title: Raise NPS, start: 20, target: 40}\n"
        "      - {title: Reduce churn, start: 8, target: 5}\n",
    )
    assert run(capsys, path) == (0, [], "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("objectives: [\n", "not valid YAML (line 2)."),
        (
            "title: no list\n",
            "the file needs a list of `objectives:` at the top level.",
        ),
        ("objectives:\n  - team: Sales\n", "objective 1: give it a title."),
        (
            "objectives:\n  - title: X\n    key_results:\n      - {title: Y, start: lots}\n",
            "X › Y: start must be a number, not 'lots'.",
        ),
        (
            "objectives:\n  - title: X\n    key_results:\n      - {title: Y, kind: task}\n",
            "X › Y: kind must be one of metric, threshold, milestone.",
        ),
    ],
)
def test_a_file_not_in_the_format_is_exit_code_2_with_the_reason(
    tmp_path, capsys, text, message
):
    path = write(tmp_path, text)
    code, lines, err = run(capsys, path)
    assert (code, lines) == (2, [])
    assert err == f"{path}: {message}\n"


def test_a_missing_file_and_an_unknown_rule(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2 and "cannot read it" in err
    with pytest.raises(SystemExit) as exited:
        cli.main(["lint", str(tmp_path / "nope.yaml"), "--off", "no-such-rule"])
    assert "not coach rules: no-such-rule" in str(exited.value.code)
