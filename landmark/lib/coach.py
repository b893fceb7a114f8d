"""The coach's rules (docs/coach.md): what each checks, why, in plain words, and the
article it comes from; the thresholds an organization may change; and the checks
that need only words and numbers (no database), shared by the coach pages
(landmark/loop/coach.py) and `landmark lint` on a YAML file (landmark/lib/coach_lint.py).

Deterministic: the same OKRs give the same findings, in the same order.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"


@dataclass(frozen=True)
class Source:
    """A seed article (PRODUCT.md: /work/shared/seeds) and the words the rule rests on."""

    article: str  # its file number, e.g. "002"
    title: str
    quote: str

    @property
    def label(self) -> str:
        return f"Article {self.article}, “{self.title}”"


A000 = "OKRs vs. KPIs: What's the Difference? (2020)"
A001 = "OKRs Vs. KPIs: What’s the Difference?"
A002 = "OKRs vs. KPIs: How they compare and work together [2024]"
A003 = "OKR vs KPI (North)"
A004 = "OKR vs KPI: ambitious goals and key metrics"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    name: str  # a short name for settings and headings
    explanation: str  # one line, plain words
    source: Source
    offline: bool = False  # `landmark lint` applies it to a YAML file


RULES: tuple[Rule, ...] = (
    Rule(
        "kr-count",
        Severity.WARNING,
        "Key results per objective",
        "An objective needs a few key results: fewer leave it unmeasured, more scatter the effort.",
        Source("000", A000, "you’ll typically set three to five indicators"),
        offline=True,
    ),
    Rule(
        "team-objectives",
        Severity.WARNING,
        "Objectives per team",
        "Too many objectives for one team in a period: OKRs are for the few most important problems.",
        Source("002", A002, "OKRs help identify the most important problems to solve"),
        offline=True,
    ),
    Rule(
        "kr-no-target",
        Severity.WARNING,
        "Key result without a measurable target",
        "A key result must be measurable: give it a start and a target, a threshold, or make it a milestone.",
        Source("003", A003, "Most of all, they are measurable and verifiable."),
        offline=True,
    ),
    Rule(
        "kr-initiative",
        Severity.WARNING,
        "Key result that reads like a task",
        "This reads like work to do, not a result: make it an initiative of a key result, or a milestone.",
        Source(
            "002",
            A002,
            "Initiatives are all the things you will do to achieve your Key Results.",
        ),
        offline=True,
    ),
    Rule(
        "objective-numbers",
        Severity.INFO,
        "Numbers in an objective",
        "An objective says where to go, in words; the numbers belong in its key results.",
        Source("002", A002, "The Objective tells you where to go."),
        offline=True,
    ),
    Rule(
        "objective-recurs",
        Severity.INFO,
        "The same objective period after period",
        "This objective was already set in an earlier period: business as usual belongs in a KPI.",
        Source(
            "002",
            A002,
            "When you're ending up with OKRs that are pretty much the same every quarter, it's a sign that you're using OKRs to (also) measure your business as usual.",
        ),
    ),
    Rule(
        "kpi-unhealthy-no-okr",
        Severity.WARNING,
        "Unhealthy KPI without an OKR",
        "This KPI is unhealthy and no OKR works on it: an unhealthy KPI is the reason to set one.",
        Source(
            "002",
            A002,
            "what if the KPI indicates the average reply time currently is 52 minutes? You probably want to create an Objective to fix this.",
        ),
    ),
    Rule(
        "kpi-raised-no-okr",
        Severity.WARNING,
        "KPI target raised without an OKR",
        "This KPI's target was raised and no OKR works on it: a higher target alone doesn't improve results.",
        Source(
            "002",
            A002,
            "nor should you boost the ambition of your KPIs without supporting them with OKRs.",
        ),
    ),
    Rule(
        "kr-no-owner",
        Severity.WARNING,
        "Key result without an owner",
        "Nobody owns this key result: give it an owner who checks in on it.",
        Source(
            "003",
            A003,
            "have more accountability and learn from those activities to do better",
        ),
        offline=True,
    ),
    Rule(
        "kr-stale",
        Severity.WARNING,
        "Key result not checked in",
        "Not checked in for longer than the check-in cadence: silence is never green.",
        Source(
            "003",
            A003,
            "a framework for setting goals and tracking progress",
        ),
    ),
    Rule(
        "kr-not-ambitious",
        Severity.WARNING,
        "Target that is not ambitious",
        "This target is not a stretch: it goes the wrong way, or was reached early in the period.",
        Source(
            "004",
            A004,
            "Ambitious (if you easily achieve your objective, it wasn’t aggressive enough)",
        ),
        offline=True,
    ),
    Rule(
        "team-key-kpis",
        Severity.WARNING,
        "Key KPIs per team",
        "Too many KPIs marked key for one team: key means the few that matter most.",
        Source("004", A004, "You don’t want to make every metric a KPI"),
    ),
    Rule(
        "objective-unaligned",
        Severity.INFO,
        "Objective aligned to nothing",
        "This objective is aligned to no parent objective and works on no KPI.",
        Source(
            "003",
            A003,
            "they offer context for what needs to be measured and help align all departments",
        ),
    ),
)
BY_ID = {rule.id: rule for rule in RULES}
RULE_IDS = tuple(BY_ID)


@dataclass(frozen=True)
class Thresholds:
    """The numbers the rules use (organization settings; docs/coach.md)."""

    min_key_results: int = 2
    max_key_results: int = 5
    max_team_objectives: int = 5
    max_key_kpis: int = 5


# What each threshold may be set to (the form, the API and the model agree).
THRESHOLD_LIMITS = {
    "min_key_results": (1, 20),
    "max_key_results": (1, 20),
    "max_team_objectives": (1, 50),
    "max_key_kpis": (1, 100),
}


@dataclass(frozen=True)
class Settings:
    off: frozenset[str] = frozenset()
    thresholds: Thresholds = Thresholds()

    def on(self, rule_id: str) -> bool:
        return rule_id not in self.off


def join_rules(ids: "list[str] | tuple[str, ...] | frozenset[str]") -> str:
    """Rule ids as an organization keeps them: sorted, comma-separated."""
    return ",".join(sorted(set(ids)))


def split_rules(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# The words


def _words(title: str) -> list[str]:
    return re.findall(r"[a-z]+", title.casefold())


# Work to do, as a key result's first word ("Launch the new website").
TASK_VERBS = frozenset(
    [
        "launch",
        "build",
        "write",
        "hold",
        "create",
        "implement",
        "develop",
        "design",
        "organize",
        "organise",
        "run",
        "ship",
        "release",
        "publish",
        "introduce",
        "roll",
        "migrate",
        "hire",
        "plan",
        "prepare",
        "start",
        "finish",
        "complete",
        "deliver",
        "host",
        "conduct",
        "redesign",
        "rebuild",
        "update",
        "install",
        "deploy",
        "define",
        "draft",
        "research",
        "train",
        "document",
        "kick",
        "set",
        "establish",
        "set-up",
        "make",
    ]
)
NUMBER_WORDS = frozenset(
    [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
        "thousand",
        "million",
        "billion",
        "half",
        "double",
        "twice",
        "triple",
        "percent",
        "dozen",
    ]
)
_DATE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}([/.-]\d{1,4})?\b")
_YEAR_OR_QUARTER = re.compile(r"\b((19|20)\d\d|[QqHh][1-4])\b")


def has_measure(title: str) -> bool:
    """A number in the words (a digit that is not a date, or a number word)."""
    text = _DATE.sub(" ", title)
    return bool(re.search(r"\d|%", text)) or bool(NUMBER_WORDS & set(_words(text)))


def reads_like_initiative(title: str) -> bool:
    """Starts with a verb of work to do and has no number: "Launch the new website",
    "Hold a webinar", not "Launch in three cities" nor "Reach 45,000 visitors"."""
    words = _words(title)
    return bool(words) and words[0] in TASK_VERBS and not has_measure(title)


def has_numbers(title: str) -> bool:
    """An objective with numbers in it; a year (2027) or a quarter (Q3) is a name."""
    return bool(re.search(r"\d", _YEAR_OR_QUARTER.sub(" ", _DATE.sub(" ", title))))


INCREASE_WORDS = frozenset(
    [
        "increase",
        "grow",
        "raise",
        "boost",
        "double",
        "triple",
        "expand",
        "gain",
        "improve",
        "lift",
    ]
)
DECREASE_WORDS = frozenset(
    ["reduce", "decrease", "cut", "lower", "shrink", "halve", "lessen"]
)


def wrong_way(title: str, start: Decimal | None, target: Decimal | None) -> bool:
    """A metric whose words and numbers disagree: "Increase ..." with a target at or
    below the start, "Reduce ..." with a target at or above it."""
    if start is None or target is None:
        return False
    words = set(_words(title)[:3])
    if words & INCREASE_WORDS and not words & DECREASE_WORDS:
        return target <= start
    if words & DECREASE_WORDS and not words & INCREASE_WORDS:
        return target >= start
    return False


# Reached in the first third of its period: too easy (rule kr-not-ambitious).
EARLY_SHARE = 1 / 3


def same_title(title: str) -> str:
    """The form two objectives' titles are compared in (objective-recurs)."""
    return " ".join(_words(title))


def kr_count_message(count: int, thresholds: Thresholds) -> str | None:
    low, high = thresholds.min_key_results, thresholds.max_key_results
    if count < low:
        have = "no key results" if count == 0 else f"only {count} key result"
        return f"It has {have}{'s' if count > 1 else ''}; aim for {aim(low, high)}."
    if count > high:
        return f"It has {count} key results; aim for {aim(low, high)}."
    return None


def aim(low: int, high: int) -> str:
    return str(low) if low == high else f"{low} to {high}"
