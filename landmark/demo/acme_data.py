"""What the Acme demo workspace contains: people, teams, OKRs, grades, kudos.

Declarative data for landmark.demo.acme. The OKRs come from the seed articles; every
number is a plausible figure for a 200-person software company.
"""

from dataclasses import dataclass

from landmark.okrs.models import Initiative, KeyResult, Objective
from landmark.orgs.models import Membership

Role = Membership.Role
Kind = KeyResult.Kind
Op = KeyResult.ThresholdOp
Level = Objective.Level
Type = Objective.Type
Commitment = Objective.Commitment
InitiativeStatus = Initiative.Status


@dataclass(frozen=True)
class Person:
    key: str
    full_name: str
    role: str


PEOPLE = [
    Person("admin", "Ada Admin", Role.OWNER),
    Person("oscar", "Oscar Ortega", Role.ADMIN),
    Person("sam", "Sam Reyes", Role.MEMBER),
    Person("maria", "Maria Lopez", Role.MEMBER),
    Person("sofia", "Sofia Chen", Role.MEMBER),
    Person("hank", "Hank Miller", Role.MEMBER),
    Person("erin", "Erin Novak", Role.MEMBER),
    Person("uma", "Uma Patel", Role.MEMBER),
    Person("kai", "Kai Williams", Role.MEMBER),
    Person("cleo", "Cleo Baker", Role.MEMBER),
    Person("leo", "Leo Brooks", Role.MEMBER),
    Person("priya", "Priya Nair", Role.MEMBER),
    Person("vic", "Vic Viewer", Role.VIEWER),
]


@dataclass(frozen=True)
class TeamSpec:
    name: str
    parent: str
    leads: tuple[str, ...]
    members: tuple[str, ...] = ()


# The root team "Acme" is created with the organization; these hang below it.
TEAMS = [
    TeamSpec("Sales", "Acme", ("sam",), ("uma", "kai")),
    TeamSpec("Marketing", "Acme", ("maria",), ("cleo",)),
    TeamSpec("Support", "Acme", ("sofia",), ("leo",)),
    TeamSpec("HR", "Acme", ("hank",)),
    TeamSpec("Engineering", "Acme", ("erin",), ("priya",)),
    TeamSpec("Sales US", "Sales", ("uma",)),
    TeamSpec("Sales UK", "Sales", ("kai",)),
    TeamSpec("Content", "Marketing", ("cleo",)),
    TeamSpec("Platform", "Engineering", ("priya",)),
]
ROOT_LEADS = ("admin",)
TIER_ONE = "Sign 5 tier one accounts out of the top 20 identified in midwest territory"
ROOT_MEMBERS = ("oscar",)


@dataclass(frozen=True)
class Trend:
    """How a key result's check-ins move over its period.

    `end` is the share of the way from start to target reached at the period's end
    if the current pace holds (negative: the value moves the wrong way).
    """

    end: float = 1.0
    noise: float = 0.04
    places: int = 0
    cumulative: bool = False  # counts never go down between check-ins
    level: float = 0.0  # threshold key results wobble around this value
    spread: float = 0.0
    done_at: float | None = None  # milestones: share of the period when done
    stale_days: int = 0  # no check-in in the last N days
    moved: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()


@dataclass(frozen=True)
class KRSpec:
    title: str
    owner: str
    trend: Trend
    kind: str = Kind.METRIC
    unit: str = ""
    start: str | None = None
    target: str | None = None
    op: str = ""
    low: str | None = None
    high: str | None = None
    weight: str = "1"


@dataclass(frozen=True)
class ObjectiveSpec:
    key: str
    title: str
    owner: str
    team: str
    krs: tuple[KRSpec, ...]
    level: str = Level.TEAM
    parent: str | None = None
    type: str = Type.IMPROVE
    commitment: str = Commitment.ASPIRATIONAL
    visibility: str = Objective.Visibility.PUBLIC
    state: str = Objective.State.ACTIVE
    description: str = ""
    include_children: bool = False


def metric(
    title: str,
    owner: str,
    start: str,
    target: str,
    unit: str,
    trend: Trend,
    weight: str = "1",
) -> KRSpec:
    return KRSpec(title, owner, trend, Kind.METRIC, unit, start, target, weight=weight)


def threshold(
    title: str,
    owner: str,
    op: str,
    unit: str,
    trend: Trend,
    low: str | None = None,
    high: str | None = None,
    weight: str = "1",
) -> KRSpec:
    return KRSpec(
        title,
        owner,
        trend,
        Kind.THRESHOLD,
        unit,
        op=op,
        low=low,
        high=high,
        weight=weight,
    )


def milestone(title: str, owner: str, trend: Trend) -> KRSpec:
    return KRSpec(title, owner, trend, Kind.MILESTONE)


CURRENT: list[ObjectiveSpec] = [
    ObjectiveSpec(
        "grow",
        "Grow faster than our market in the US and UK",
        "admin",
        "Acme",
        level=Level.COMPANY,
        commitment=Commitment.COMMITTED,
        description="Our two home markets are where we win or lose this year.",
        krs=(
            metric(
                "Grow annual recurring revenue from $8.0M to $9.2M",
                "admin",
                "8.0",
                "9.2",
                "$M",
                Trend(end=0.9, places=2, noise=0.03, cumulative=True),
            ),
            threshold(
                "Keep net revenue retention at or above 105%",
                "oscar",
                Op.AT_LEAST,
                "%",
                Trend(level=105.2, spread=1.6, places=1),
                low="105",
            ),
        ),
    ),
    ObjectiveSpec(
        "trial",
        "Provide the best possible experience when people trial our software",
        "oscar",
        "Acme",
        level=Level.COMPANY,
        commitment=Commitment.COMMITTED,
        include_children=True,
        description=(
            "A trial is the first promise we make; "
            "it should feel like the product at its best."
        ),
        krs=(
            metric(
                "Increase Net Promoter Score during trial from 22 to 40",
                "oscar",
                "22",
                "40",
                "NPS",
                Trend(
                    end=1.0,
                    noise=0.06,
                    moved=("Guided setup made the first session shorter.",),
                ),
            ),
            metric(
                "Increase trial-to-customer conversion rate from 14% to 20%",
                "sam",
                "14",
                "20",
                "%",
                Trend(
                    end=0.7,
                    places=1,
                    blocks=(
                        "Trials from the partner channel convert at half the rate.",
                    ),
                ),
            ),
        ),
    ),
    ObjectiveSpec(
        "people",
        "Make Acme a place where great people do their best work",
        "admin",
        "Acme",
        level=Level.COMPANY,
        type=Type.BUILD,
        krs=(
            metric(
                "Raise employee engagement score from 72 to 80",
                "hank",
                "72",
                "80",
                "",
                Trend(end=1.05, noise=0.05),
            ),
            metric(
                "Cut average time to hire from 48 to 35 days",
                "hank",
                "48",
                "35",
                "days",
                Trend(
                    end=0.5,
                    noise=0.05,
                    blocks=("Two hiring managers were out for most of the month.",),
                ),
            ),
        ),
    ),
    ObjectiveSpec(
        "leader",
        "Become a leader in US and UK",
        "sam",
        "Sales",
        parent="grow",
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Close 132 deals this quarter, 10% more than last quarter's 120",
                "sam",
                "0",
                "132",
                "deals",
                Trend(
                    end=0.95,
                    noise=0.03,
                    cumulative=True,
                    moved=("Closed the Northwind renewal early.",),
                ),
            ),
            threshold(
                "Keep average deal size above $100k",
                "sam",
                Op.AT_LEAST,
                "k USD",
                Trend(level=103, spread=9),
                low="100",
                weight="0.5",
            ),
        ),
    ),
    ObjectiveSpec(
        "midwest",
        "Increase Brand Awareness in the Midwest",
        "sam",
        "Sales",
        parent="grow",
        type=Type.BUILD,
        krs=(
            metric(
                TIER_ONE,
                "uma",
                "0",
                "5",
                "accounts",
                Trend(
                    end=0.8,
                    cumulative=True,
                    moved=(
                        "Signed Great Lakes Logistics.",
                        "Verbal yes from Prairie Foods.",
                    ),
                    blocks=("Heartland Health's procurement wants a security review.",),
                ),
                weight="2",
            ),
            metric(
                "Launch virtual midwest road show tour in three cities",
                "sam",
                "0",
                "3",
                "cities",
                Trend(
                    end=1.1,
                    cumulative=True,
                    moved=("Chicago stop done: 140 attendees.",),
                ),
            ),
            metric(
                "Be featured in three midwest media outlets",
                "maria",
                "0",
                "3",
                "outlets",
                Trend(
                    end=0.4,
                    cumulative=True,
                    blocks=("Editors want a customer story, not a product pitch.",),
                ),
            ),
        ),
    ),
    ObjectiveSpec(
        "uma-growth",
        "Grow into a sales team lead",
        "uma",
        "Sales US",
        level=Level.PERSONAL,
        type=Type.BUILD,
        visibility=Objective.Visibility.PRIVATE,
        krs=(
            milestone(
                "Complete the enterprise negotiation course", "uma", Trend(done_at=0.5)
            ),
            metric(
                "Run 6 deal reviews with the US team",
                "uma",
                "0",
                "6",
                "reviews",
                Trend(end=1.0, cumulative=True),
            ),
        ),
    ),
    ObjectiveSpec(
        "uk",
        "Build a repeatable sales motion in the UK",
        "kai",
        "Sales UK",
        parent="leader",
        type=Type.BUILD,
        krs=(
            metric(
                "Grow qualified UK pipeline from £1.2M to £2.0M",
                "kai",
                "1.2",
                "2.0",
                "£M",
                Trend(end=0.9, places=2),
            ),
            metric(
                "Sign 8 new UK customers",
                "kai",
                "0",
                "8",
                "customers",
                Trend(end=0.5, cumulative=True),
            ),
            milestone(
                "Hire and ramp a second UK account executive",
                "kai",
                Trend(blocks=("Our preferred candidate took another offer.",)),
            ),
        ),
    ),
    ObjectiveSpec(
        "leads",
        "Generate Qualified Leads for sales",
        "maria",
        "Marketing",
        parent="grow",
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Improve website conversions by 10%, from 2.0% to 2.2%",
                "maria",
                "2.0",
                "2.2",
                "%",
                Trend(end=1.0, places=2, noise=0.08),
            ),
            metric(
                "Reduce customer acquisition cost (CAC) by 5%, from $2,600 to $2,470",
                "maria",
                "2600",
                "2470",
                "USD",
                Trend(
                    end=-0.4,
                    noise=0.06,
                    blocks=(
                        "Paid search prices are up 18% since a competitor's launch.",
                        "Partner webinars start next month; until then CAC stays high.",
                    ),
                ),
            ),
            metric(
                "Increase marketing-qualified leads from 400 to 550 a month",
                "cleo",
                "400",
                "550",
                "MQLs",
                Trend(
                    end=1.15, moved=("The pricing guide is our best lead magnet yet.",)
                ),
                weight="2",
            ),
        ),
    ),
    ObjectiveSpec(
        "voice",
        "Become the most useful voice on OKRs and KPIs",
        "cleo",
        "Content",
        parent="leads",
        type=Type.INNOVATE,
        krs=(
            metric(
                "Grow organic blog visitors from 30,000 to 45,000 a month",
                "cleo",
                "30000",
                "45000",
                "visitors",
                Trend(end=0.85),
            ),
            metric(
                "Grow newsletter subscribers from 5,000 to 7,500",
                "cleo",
                "5000",
                "7500",
                "subscribers",
                Trend(end=1.0, cumulative=True),
            ),
            milestone(
                "Publish the OKR and KPI field guide", "cleo", Trend(done_at=0.7)
            ),
        ),
    ),
    ObjectiveSpec(
        "self-sufficient",
        "Empower our users to be more self-sufficient",
        "sofia",
        "Support",
        parent="trial",
        type=Type.INNOVATE,
        krs=(
            metric(
                "Reduce incoming support tickets from 1,200 to 1,000 a month",
                "sofia",
                "1200",
                "1000",
                "tickets/month",
                Trend(
                    end=0.9,
                    moved=(
                        "Password-reset tickets halved with the self-service flow.",
                    ),
                ),
            ),
            metric(
                "Increase conversations resolved by AI from 18% to 35%",
                "leo",
                "18",
                "35",
                "%",
                Trend(end=1.2, places=1),
            ),
            threshold(
                "Maintain CSAT at 95%",
                "leo",
                Op.AT_LEAST,
                "%",
                Trend(level=95.6, spread=1.0, places=1),
                low="95",
                weight="0.5",
            ),
        ),
    ),
    ObjectiveSpec(
        "effortless",
        "Make the trial effortless from the first click",
        "erin",
        "Engineering",
        parent="trial",
        type=Type.BUILD,
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Cut time to first dashboard in a trial from 25 to 8 minutes",
                "erin",
                "25",
                "8",
                "min",
                Trend(end=0.75, places=1),
            ),
            milestone(
                "Ship the guided onboarding checklist", "priya", Trend(done_at=0.45)
            ),
            threshold(
                "Keep trial sign-up errors at or below 1%",
                "priya",
                Op.AT_MOST,
                "%",
                Trend(level=0.8, spread=0.35, places=2),
                high="1",
            ),
        ),
    ),
    ObjectiveSpec(
        "fast",
        "Make our app fast everywhere",
        "priya",
        "Platform",
        parent="effortless",
        krs=(
            metric(
                "Cut p95 page load time from 2.4 s to 1.2 s",
                "priya",
                "2.4",
                "1.2",
                "s",
                Trend(
                    end=0.35,
                    places=2,
                    blocks=("The report export still blocks the main thread.",),
                ),
            ),
            threshold(
                "Keep uptime at or above 99.9%",
                "priya",
                Op.AT_LEAST,
                "%",
                Trend(level=99.94, spread=0.05, places=2),
                low="99.9",
            ),
        ),
    ),
    ObjectiveSpec(
        "hiring",
        "Hire the people our growth plan needs",
        "hank",
        "HR",
        parent="people",
        type=Type.BUILD,
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Hire 12 engineers and sellers",
                "hank",
                "0",
                "12",
                "hires",
                Trend(end=0.8, cumulative=True, stale_days=24),
            ),
            metric(
                "Raise offer acceptance rate from 70% to 85%",
                "hank",
                "70",
                "85",
                "%",
                Trend(end=0.6, noise=0.06),
            ),
            milestone(
                "Launch the structured interview kit", "hank", Trend(done_at=0.3)
            ),
        ),
    ),
    ObjectiveSpec(
        "ai-checkins",
        "Explore an AI assistant for weekly check-ins",
        "erin",
        "Engineering",
        type=Type.INNOVATE,
        state=Objective.State.DRAFT,
        krs=(),
    ),
]

LAST: list[ObjectiveSpec] = [
    ObjectiveSpec(
        "enterprise",
        "Win our first enterprise customers",
        "admin",
        "Acme",
        level=Level.COMPANY,
        type=Type.BUILD,
        krs=(
            metric(
                "Sign 10 enterprise customers",
                "sam",
                "0",
                "10",
                "customers",
                Trend(end=0.7, cumulative=True),
            ),
            metric(
                "Grow average deal size from $60k to $90k",
                "sam",
                "60",
                "90",
                "k USD",
                Trend(end=0.8),
            ),
        ),
    ),
    ObjectiveSpec(
        "delight",
        "Delight the customers we already have",
        "oscar",
        "Acme",
        level=Level.COMPANY,
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Raise customer NPS from 30 to 40",
                "oscar",
                "30",
                "40",
                "NPS",
                Trend(end=0.6),
            ),
            metric(
                "Reduce monthly churn from 2.5% to 1.8%",
                "oscar",
                "2.5",
                "1.8",
                "%",
                Trend(end=4 / 7, places=1),
            ),
        ),
    ),
    ObjectiveSpec(
        "pipeline",
        "Build a pipeline worth chasing",
        "sam",
        "Sales",
        parent="enterprise",
        type=Type.BUILD,
        krs=(
            metric(
                "Grow qualified pipeline from $4.0M to $6.0M",
                "sam",
                "4.0",
                "6.0",
                "$M",
                Trend(end=0.75, places=2),
            ),
            metric(
                "Book 120 discovery calls",
                "uma",
                "0",
                "120",
                "calls",
                Trend(end=131 / 120, cumulative=True),
            ),
        ),
    ),
    ObjectiveSpec(
        "help-resources",
        "Empower customers to help themselves by building the best help resources",
        "sofia",
        "Support",
        parent="delight",
        type=Type.BUILD,
        krs=(
            metric(
                "Reduce the number of support tickets by 10%, from 1,350 to 1,215",
                "sofia",
                "1350",
                "1215",
                "tickets/month",
                Trend(end=150 / 135),
            ),
            metric(
                "Increase Knowledge Base traffic to 20,000 unique visitors a month",
                "leo",
                "8000",
                "20000",
                "visitors",
                Trend(end=0.7),
            ),
        ),
    ),
    ObjectiveSpec(
        "known",
        "Make Acme known to operations leaders",
        "maria",
        "Marketing",
        parent="enterprise",
        krs=(
            metric(
                "Grow website visitors from 40,000 to 60,000 a month",
                "maria",
                "40000",
                "60000",
                "visitors",
                Trend(end=0.6),
            ),
            metric(
                "Brief 3 industry analysts",
                "maria",
                "0",
                "3",
                "briefings",
                Trend(end=1.0, cumulative=True),
            ),
        ),
    ),
    ObjectiveSpec(
        "sso",
        "Ship single sign-on for enterprise customers",
        "erin",
        "Engineering",
        parent="enterprise",
        type=Type.BUILD,
        commitment=Commitment.COMMITTED,
        krs=(
            milestone(
                "Ship SAML single sign-on to general availability",
                "erin",
                Trend(blocks=("Identity-provider certification is six weeks behind.",)),
            ),
            metric(
                "Sign up 5 pilot customers on single sign-on",
                "priya",
                "0",
                "5",
                "customers",
                Trend(end=0.6, cumulative=True),
            ),
        ),
    ),
    ObjectiveSpec(
        "onboarding",
        "Onboard new hires in days, not weeks",
        "hank",
        "HR",
        commitment=Commitment.COMMITTED,
        krs=(
            metric(
                "Cut time to onboard a new employee from 15 to 5 days",
                "hank",
                "15",
                "5",
                "days",
                Trend(end=0.8),
            ),
            milestone(
                "Launch the onboarding buddy programme", "hank", Trend(done_at=0.5)
            ),
        ),
    ),
]

# How the carried-over copies of last quarter's key results move this quarter.
CARRIED_TRENDS = {
    "Ship SAML single sign-on to general availability": Trend(done_at=0.85),
    "Sign up 5 pilot customers on single sign-on": Trend(end=0.9, cumulative=True),
}


@dataclass(frozen=True)
class GradeSpec:
    override: str | None = None
    reason: str = ""
    retrospective: str = ""
    carry_over: bool = False


GRADES = {
    "enterprise": GradeSpec(
        override="0.60",
        reason=(
            "Two of the seven deals were signed as paid pilots, not enterprise "
            "contracts; counting them fully overstates the result."
        ),
        retrospective="Enterprise buyers need security reviews we were not ready for.",
    ),
    "onboarding": GradeSpec(
        override="1.00",
        reason=(
            "The 7-day average includes two hires who started over a public holiday; "
            "without them the average is 5 days."
        ),
    ),
    "sso": GradeSpec(
        carry_over=True,
        retrospective=(
            "Certification took six weeks longer than planned; the pilots are happy."
        ),
    ),
    "help-resources": GradeSpec(
        retrospective=(
            "The knowledge base rewrite paid off: tickets fell below target."
        ),
    ),
}

PERIOD_RETROSPECTIVE = (
    "A quarter of foundations. We signed our first enterprise customers and learned "
    "that security reviews decide enterprise deals, so single sign-on carries over. "
    "Self-service help cut tickets below target. Next quarter: focus on the trial."
)


@dataclass(frozen=True)
class InitiativeSpec:
    kr_title: str
    title: str
    status: str
    owner: str
    url: str = ""


INITIATIVES = [
    InitiativeSpec(
        TIER_ONE,
        "Account plans for the top 20 midwest prospects",
        InitiativeStatus.DONE,
        "uma",
        "https://crm.acme.example/lists/midwest-top-20",
    ),
    InitiativeSpec(
        TIER_ONE,
        "Executive dinner in Chicago for tier one prospects",
        InitiativeStatus.IN_PROGRESS,
        "sam",
    ),
    InitiativeSpec(
        "Launch virtual midwest road show tour in three cities",
        "Book speakers for Chicago, Detroit and Minneapolis",
        InitiativeStatus.IN_PROGRESS,
        "sam",
        "https://tracker.acme.example/browse/SALES-142",
    ),
    InitiativeSpec(
        "Be featured in three midwest media outlets",
        "Pitch the Great Lakes customer story to regional business journals",
        InitiativeStatus.BLOCKED,
        "maria",
    ),
    InitiativeSpec(
        "Increase conversations resolved by AI from 18% to 35%",
        "Train the AI assistant on the 50 most-read help articles",
        InitiativeStatus.IN_PROGRESS,
        "leo",
        "https://tracker.acme.example/browse/SUP-318",
    ),
    InitiativeSpec(
        "Reduce incoming support tickets from 1,200 to 1,000 a month",
        "Self-service password reset",
        InitiativeStatus.DONE,
        "sofia",
    ),
    InitiativeSpec(
        "Reduce customer acquisition cost (CAC) by 5%, from $2,600 to $2,470",
        "Move budget from paid search to partner webinars",
        InitiativeStatus.NOT_STARTED,
        "maria",
    ),
    InitiativeSpec(
        "Ship the guided onboarding checklist",
        "Design review of the onboarding checklist",
        InitiativeStatus.DONE,
        "priya",
        "https://tracker.acme.example/browse/ENG-977",
    ),
    InitiativeSpec(
        "Cut p95 page load time from 2.4 s to 1.2 s",
        "Cache the OKR tree query",
        InitiativeStatus.BLOCKED,
        "priya",
        "https://tracker.acme.example/browse/ENG-1003",
    ),
]


@dataclass(frozen=True)
class KudosSpec:
    sender: str
    recipient: str
    message: str
    objective: str | None = None
    kr_title: str | None = None


KUDOS = [
    KudosSpec(
        "admin",
        "sam",
        "The Chicago road show drew 140 people. Great start for the Midwest!",
        objective="midwest",
    ),
    KudosSpec(
        "sam",
        "uma",
        "Great Lakes Logistics signed thanks to your account plan.",
        kr_title=TIER_ONE,
    ),
    KudosSpec(
        "sofia",
        "leo",
        "CSAT stayed above 95% through the busiest month of the year.",
        kr_title="Maintain CSAT at 95%",
    ),
    KudosSpec(
        "erin",
        "priya",
        "The onboarding checklist shipped a week early.",
        objective="effortless",
    ),
    KudosSpec(
        "maria",
        "cleo",
        "The pricing guide is bringing in more leads than any paid campaign.",
    ),
]
