"""A small example set for a new, empty organization ("Load example OKRs and KPIs"
on the getting-started checklist), taken from the seed articles the Acme demo uses
(/work/shared/seeds: "OKRs vs. KPIs"): four KPIs from the articles' lists and the
two example objectives of article 002, one key result tracking a KPI.

Built through the same action functions as the demo and the web. Only into an
organization with no KPI and no objective yet, in one transaction with the
organization's row locked: loading twice (or two admins at once) adds nothing the
second time.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from landmark.kpis.actions import create_kpi
from landmark.kpis.models import KPI
from landmark.okrs.actions import create_key_result, create_objective
from landmark.okrs.models import KeyResult, Objective, Period, current_of
from landmark.orgs.models import Membership, Organization, Team

Freq, Agg, Target = KPI.Frequency, KPI.Aggregation, KPI.TargetKind
EXAMPLE_TAG = "Example"  # the KPIs' category: easy to find and archive later


@dataclass(frozen=True)
class ExampleKPI:
    key: str
    name: str
    unit: str
    frequency: str
    aggregation: str
    target_kind: str
    low: str  # the healthy bound: the lowest (at least) or highest (at most) value
    definition: str
    indicator: str = KPI.Indicator.LAG


KPIS = [
    ExampleKPI(
        "example-sales-revenue",
        "Sales revenue",
        "k USD",
        Freq.MONTHLY,
        Agg.SUM,
        Target.AT_LEAST,
        "800",
        "New and expansion bookings closed in the month.",
    ),
    ExampleKPI(
        "example-trial-conversion",
        "Trial-to-customer conversion",
        "%",
        Freq.MONTHLY,
        Agg.MEAN,
        Target.AT_LEAST,
        "15",
        "Share of each week's trial sign-ups that became paying customers within 30 days.",
        KPI.Indicator.LEAD,
    ),
    ExampleKPI(
        "example-response-time",
        "Average first response time",
        "h",
        Freq.WEEKLY,
        Agg.MEAN,
        Target.AT_MOST,
        "4",
        "Hours from a support ticket's arrival to the first human answer.",
    ),
    ExampleKPI(
        "example-csat",
        "Customer satisfaction (CSAT)",
        "%",
        Freq.MONTHLY,
        Agg.MEAN,
        Target.AT_LEAST,
        "95",
        "Share of support conversations rated good or great.",
    ),
]


@dataclass(frozen=True)
class Loaded:
    kpis: int
    objectives: int
    key_results: int


class NotEmpty(Exception):
    """The organization already has KPIs or objectives: examples would mix in."""


def is_empty(org: Organization) -> bool:
    return not (
        KPI.objects.filter(organization=org).exists()
        or Objective.objects.filter(organization=org).exists()
    )


@transaction.atomic
def load_examples(*, org: Organization, by: Membership) -> Loaded:
    # Lock the organization's row: a second request waits, then finds it not empty.
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    if not is_empty(org):
        raise NotEmpty
    today = timezone.localdate()
    periods = list(
        Period.objects.filter(organization=org).exclude(state=Period.State.CLOSED)
    )
    period = current_of(periods, today)
    company = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    owner = by.user
    kpis = {
        spec.key: create_kpi(
            org=org,
            name=spec.name,
            key=spec.key,
            definition=spec.definition,
            owner=owner,
            team=company,
            unit=spec.unit,
            category=EXAMPLE_TAG,
            indicator=spec.indicator,
            frequency=spec.frequency,
            aggregation=spec.aggregation,
            target_kind=spec.target_kind,
            target_low=Decimal(spec.low)
            if spec.target_kind == Target.AT_LEAST
            else None,
            target_high=Decimal(spec.low)
            if spec.target_kind == Target.AT_MOST
            else None,
        )
        for spec in KPIS
    }
    if period is None:
        return Loaded(kpis=len(kpis), objectives=0, key_results=0)
    trial = create_objective(
        org=org,
        period=period,
        owner=owner,
        title="Provide the best possible experience when people trial our software",
        description="Example from the getting-started checklist: edit it or delete it.",
        level=Objective.Level.COMPANY,
        team=company,
        type=Objective.Type.IMPROVE,
        kpis=[kpis["example-trial-conversion"]],
    )
    self_sufficient = create_objective(
        org=org,
        period=period,
        owner=owner,
        title="Empower our users to be more self-sufficient",
        description="Example from the getting-started checklist: edit it or delete it.",
        level=Objective.Level.COMPANY,
        team=company,
        type=Objective.Type.IMPROVE,
        kpis=[kpis["example-response-time"], kpis["example-csat"]],
    )
    results = [
        create_key_result(
            objective=trial,
            title="Increase trial-to-customer conversion from 14% to 18%",
            owner=owner,
            unit="%",
            start=Decimal("14"),
            target=Decimal("18"),
            kpi=kpis["example-trial-conversion"],
        ),
        create_key_result(
            objective=trial,
            title="Increase Net Promoter Score during trial from 20 to 35",
            owner=owner,
            start=Decimal("20"),
            target=Decimal("35"),
        ),
        create_key_result(
            objective=self_sufficient,
            title="Reduce incoming support tickets from 400 to 320 a month",
            owner=owner,
            unit="tickets",
            start=Decimal("400"),
            target=Decimal("320"),
        ),
        create_key_result(
            objective=self_sufficient,
            title="Maintain CSAT at 95%",
            kind=KeyResult.Kind.THRESHOLD,
            owner=owner,
            unit="%",
            threshold_op=KeyResult.ThresholdOp.AT_LEAST,
            threshold_low=Decimal("95"),
        ),
        create_key_result(
            objective=self_sufficient,
            title="Publish a help center with the 20 most asked questions",
            kind=KeyResult.Kind.MILESTONE,
            owner=owner,
        ),
    ]
    return Loaded(kpis=len(kpis), objectives=2, key_results=len(results))
