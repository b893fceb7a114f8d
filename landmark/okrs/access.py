"""The only way views reach OKR data: scoped to the caller's organization.

Another organization's object, or a private one the caller may not see, is a 404.
Writing needs a role that can write (403 otherwise); closed periods are read-only.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPIQuerySet
from landmark.okrs.models import (
    Initiative,
    KeyResult,
    KeyResultQuerySet,
    Objective,
    ObjectiveQuerySet,
    Period,
    current_of,
    next_if_ending,
)
from landmark.orgs.access import require_admin, require_write
from landmark.orgs.models import Membership


def periods_for_member(membership: Membership) -> QuerySet[Period]:
    return Period.objects.for_org(membership.organization).current_first()


def current_period(membership: Membership) -> Period | None:
    """The period pages open on (okrs.models.current_of)."""
    return current_of(list(periods_for_member(membership)), timezone.localdate())


def period_for_new_work(membership: Membership) -> Period | None:
    """Where Fix with an OKR drafts by default (okrs.models.next_if_ending)."""
    return next_if_ending(list(periods_for_member(membership)), timezone.localdate())


def objectives_for_member(membership: Membership) -> ObjectiveQuerySet:
    return Objective.objects.for_org(membership.organization).visible_to(membership)


def shown_parent(membership: Membership) -> "Prefetch[str, ObjectiveQuerySet, str]":
    """An objective's `parent` as this member may see it: None when it is hidden.

    Load every objective whose alignment a page or the API shows with it, so that a
    private parent's title, link or id is never read for someone who may not see it.
    """
    return Prefetch("parent", queryset=objectives_for_member(membership))


def shown_kpi(membership: Membership) -> "Prefetch[str, KPIQuerySet, str]":
    """A key result's `kpi` as this member may see it: None when the KPI is hidden
    (the key result's own values stay; which KPI it tracks does not show)."""
    return Prefetch("kpi", queryset=kpis_for_member(membership))


def key_results_for_member(membership: Membership) -> KeyResultQuerySet:
    """Key results of the objectives this member may see, each with its KPI as
    `shown_kpi` loads it."""
    # Visibility checked key result by key result (a lookup of its objective by
    # primary key): `objective__in` collected the ids of every objective of the
    # organization first, and a page of the newest key results then sorted them all.
    shown_objective = objectives_for_member(membership).filter(
        pk=OuterRef("objective_id")
    )
    return (
        KeyResult.objects.filter(organization=membership.organization)
        .filter(Exists(shown_objective))
        .prefetch_related(shown_kpi(membership))
    )


def focus_key_results(membership: Membership) -> KeyResultQuerySet:
    """The key results on the member's My focus: their own, of open objectives in
    active periods."""
    return (
        key_results_for_member(membership)
        .filter(owner=membership.user, objective__period__state=Period.State.ACTIVE)
        .exclude(objective__state=Objective.State.CLOSED)
    )


def focus_count(membership: Membership) -> int:
    """How many of them await the member's check-in this week (one COUNT)."""
    return (
        focus_key_results(membership).awaiting_checkin(membership.organization).count()
    )


def get_period_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> Period:
    period = get_object_or_404(Period, organization=membership.organization, pk=pk)
    if write:
        require_admin(membership)
    return period


def require_open(period: Period) -> None:
    if period.is_closed:
        raise PermissionDenied("This period is closed; its OKRs are read-only.")


def get_objective_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> Objective:
    objective = get_object_or_404(
        objectives_for_member(membership)
        .select_related("period", "owner", "team")
        .prefetch_related(shown_parent(membership)),
        pk=pk,
    )
    if write:
        require_write(membership)
        require_open(objective.period)
    return objective


def get_key_result_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> KeyResult:
    key_result = get_object_or_404(
        KeyResult.objects.select_related("objective__period", "owner").prefetch_related(
            shown_kpi(membership)
        ),
        organization=membership.organization,
        pk=pk,
    )
    # Visibility follows the objective.
    get_objective_for_member(membership, key_result.objective_id, write=write)
    return key_result


def get_initiative_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> Initiative:
    initiative = get_object_or_404(
        Initiative.objects.select_related("key_result__objective"),
        organization=membership.organization,
        pk=pk,
    )
    get_objective_for_member(
        membership, initiative.key_result.objective_id, write=write
    )
    return initiative


def require_period_admin(membership: Membership) -> None:
    require_admin(membership)
