"""Getting started: the checklist a new organization's admins see on My focus.

Four steps, each ticked by the organization's own data (never by a click): someone
invited, a first KPI, objectives in a current period, a first check-in by a person.
One query reads all four (`Exists` subqueries on the organization row). The list
shows to admins until every step is done or an admin dismisses it (kept on the
organization: `getting_started_dismissed_at`). docs/accounts.md, "Getting started".
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.okrs.models import CheckIn, Objective, Period
from landmark.orgs.models import Invitation, Membership, Organization


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    why: str
    url: str
    action: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]
    empty: bool  # no KPI and no objective yet: examples may be loaded

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)


def checklist(org: Organization) -> Checklist:
    """The four steps for this organization, read in one query."""
    pk = OuterRef("pk")
    today = timezone.localdate()
    flags = (
        Organization.objects.filter(pk=org.pk)
        .annotate(
            invited=Exists(Invitation.objects.filter(organization=pk))
            | Exists(
                Membership.objects.filter(organization=pk).exclude(
                    role=Membership.Role.OWNER
                )
            ),
            has_kpis=Exists(KPI.objects.filter(organization=pk)),
            has_objectives=Exists(
                Objective.objects.filter(organization=pk).filter(
                    ~Q(period__state=Period.State.CLOSED), period__end__gte=today
                )
            ),
            has_any_objective=Exists(Objective.objects.filter(organization=pk)),
            has_checkin=Exists(
                CheckIn.objects.filter(organization=pk, source=CheckIn.Source.PERSON)
            ),
        )
        .values(
            "invited", "has_kpis", "has_objectives", "has_any_objective", "has_checkin"
        )
        .get()
    )
    steps = [
        Step(
            "invite",
            "Invite your people",
            "OKRs work when the people who do the work write and check in on them.",
            reverse("member_invite"),
            "Invite people",
            flags["invited"],
        ),
        Step(
            "kpis",
            "Add your first KPIs",
            "The numbers that tell you the business is healthy: revenue, response time, churn…",
            reverse("kpi_create"),
            "Add a KPI",
            flags["has_kpis"],
        ),
        Step(
            "objectives",
            "Set this quarter's objectives",
            "Two or three things to change this quarter, each with key results that prove it.",
            reverse("objective_create"),
            "Write an objective",
            flags["has_objectives"],
        ),
        Step(
            "checkin",
            "Make a first check-in",
            "Once a week, each key result's owner says where it stands and how confident they are.",
            reverse("tree"),
            "Open the OKRs",
            flags["has_checkin"],
        ),
    ]
    return Checklist(
        steps=steps, empty=not flags["has_kpis"] and not flags["has_any_objective"]
    )


def shown_to(membership: Membership | None) -> Checklist | None:
    """The checklist to show this person on My focus, or None: admins only, until
    it is complete or dismissed (a dismissed one costs no query)."""
    if membership is None or not membership.is_admin:
        return None
    if membership.organization.getting_started_dismissed_at is not None:
        return None
    found = checklist(membership.organization)
    return None if found.complete else found


def dismiss(*, org: Organization) -> None:
    Organization.objects.filter(
        pk=org.pk, getting_started_dismissed_at__isnull=True
    ).update(getting_started_dismissed_at=timezone.now())
    org.getting_started_dismissed_at = (
        org.getting_started_dismissed_at or timezone.now()
    )


def restore(*, org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(getting_started_dismissed_at=None)
    org.getting_started_dismissed_at = None
