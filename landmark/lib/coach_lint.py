"""`landmark lint FILE`: the coach's rules on OKRs kept in a YAML file, offline
(docs/coach.md, "Linting a YAML file"). No database, no Django: the rules of
landmark/lib/coach.py marked `offline`, on what a file can say.

The file:

    period: Q3 2027            # optional, named in the messages only
    objectives:
      - title: Become the obvious choice for mid-market buyers
        team: Sales            # optional: objectives per team are counted by it
        owner: bob@acme.test   # optional: its key results' owner unless they name one
        key_results:
          - title: Sign new mid-market customers
            start: 0           # a metric (the default kind): start and target
            target: 5
            unit: customers    # optional
          - title: Keep renewal rate at or above 95 %
            kind: threshold
            at_least: 95       # or at_most: X, or between: [low, high]
          - title: Publish the mid-market pricing page
            kind: milestone
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from landmark.lib import coach

KINDS = ("metric", "threshold", "milestone")


class LintFileError(ValueError):
    """The file is not YAML, or not in the documented format (said in plain words)."""


@dataclass
class KeyResult:
    title: str
    kind: str = "metric"
    start: Decimal | None = None
    target: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    owner: str = ""


@dataclass
class Objective:
    title: str
    team: str = ""
    owner: str = ""
    key_results: list[KeyResult] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    where: str  # the objective's title (› the key result's), or "team NAME"
    rule: coach.Rule
    message: str

    def line(self, path: str) -> str:
        return f"{path}:{self.where}: {self.rule.id} {self.rule.severity.value} {self.message}"


def _number(value: Any, where: str, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LintFileError(f"{where}: {name} must be a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise LintFileError(
            f"{where}: {name} must be a number, not {value!r}."
        ) from None
    if not number.is_finite():
        raise LintFileError(f"{where}: {name} must be a finite number.")
    return number


def _text(value: Any, where: str, name: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise LintFileError(f"{where}: {name} must be text.")
    text = str(value).strip()
    if required and not text:
        raise LintFileError(f"{where}: give it a {name}.")
    return text


def _key_result(raw: Any, where: str) -> KeyResult:
    if not isinstance(raw, dict):
        raise LintFileError(f"{where}: a key result is a mapping with a title.")
    title = _text(raw.get("title"), where, "title", required=True)
    where = f"{where} › {title}"
    kind = _text(raw.get("kind"), where, "kind") or "metric"
    if kind not in KINDS:
        raise LintFileError(f"{where}: kind must be one of {', '.join(KINDS)}.")
    kr = KeyResult(
        title=title, kind=kind, owner=_text(raw.get("owner"), where, "owner")
    )
    kr.start = _number(raw.get("start"), where, "start")
    kr.target = _number(raw.get("target"), where, "target")
    kr.low = _number(raw.get("at_least"), where, "at_least")
    kr.high = _number(raw.get("at_most"), where, "at_most")
    between = raw.get("between")
    if between is not None:
        if not isinstance(between, list) or len(between) != 2:
            raise LintFileError(f"{where}: between is two numbers, [low, high].")
        kr.low = _number(between[0], where, "between")
        kr.high = _number(between[1], where, "between")
    return kr


def parse(text: str) -> list[Objective]:
    """The objectives of a lint file, or a LintFileError saying what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise LintFileError(f"not valid YAML{at}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("objectives"), list):
        raise LintFileError("the file needs a list of `objectives:` at the top level.")
    objectives = []
    for n, raw in enumerate(data["objectives"], start=1):
        where = f"objective {n}"
        if not isinstance(raw, dict):
            raise LintFileError(f"{where}: an objective is a mapping with a title.")
        title = _text(raw.get("title"), where, "title", required=True)
        krs = raw.get("key_results") or []
        if not isinstance(krs, list):
            raise LintFileError(f"{title}: key_results is a list.")
        objectives.append(
            Objective(
                title=title,
                team=_text(raw.get("team"), title, "team"),
                owner=_text(raw.get("owner"), title, "owner"),
                key_results=[_key_result(kr, title) for kr in krs],
            )
        )
    return objectives


def measurable(kr: KeyResult) -> bool:
    if kr.kind == "metric":
        return kr.start is not None and kr.target is not None and kr.start != kr.target
    if kr.kind == "threshold":
        return kr.low is not None or kr.high is not None
    return True


def lint(objectives: list[Objective], settings: coach.Settings) -> list[Finding]:
    """The offline rules' findings, in the file's order (team counts last)."""
    t = settings.thresholds
    found: list[Finding] = []

    def add(rule_id: str, where: str, message: str) -> None:
        if settings.on(rule_id):
            found.append(Finding(where, coach.BY_ID[rule_id], message))

    for o in objectives:
        if message := coach.kr_count_message(len(o.key_results), t):
            add("kr-count", o.title, message)
        if coach.has_numbers(o.title):
            add("objective-numbers", o.title, "Its title has numbers in it.")
        for kr in o.key_results:
            where = f"{o.title} › {kr.title}"
            if not measurable(kr):
                add(
                    "kr-no-target",
                    where,
                    "It has no start and target to measure it by.",
                )
            if kr.kind != "milestone" and coach.reads_like_initiative(kr.title):
                add("kr-initiative", where, "It reads like a task with no measure.")
            if not (kr.owner or o.owner):
                add("kr-no-owner", where, "It has no owner (nor has its objective).")
            if kr.kind == "metric" and coach.wrong_way(kr.title, kr.start, kr.target):
                add(
                    "kr-not-ambitious",
                    where,
                    "Its target goes the other way from what it says.",
                )
    teams = Counter(o.team for o in objectives if o.team)
    for team, n in teams.items():
        if n > t.max_team_objectives:
            add(
                "team-objectives",
                f"team {team}",
                f"{n} objectives; aim for at most {t.max_team_objectives}.",
            )
    return found


def exit_code(findings: list[Finding]) -> int:
    """1 when a finding is a warning, else 0."""
    return int(any(f.rule.severity == coach.Severity.WARNING for f in findings))
