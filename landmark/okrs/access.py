"""The only way views reach OKR data: scoped to the caller's organization.

Another organization's object, or a private one the caller may not see, is a 404.
Writing needs a role that can write (403 otherwise); closed periods are read-only.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from landmark.okrs.models import (
    Initiative,
    KeyResult,
    Objective,
    ObjectiveQuerySet,
    Period,
)
from landmark.orgs.access import require_admin, require_write
from landmark.orgs.models import Membership


def periods_for_member(membership: Membership) -> QuerySet[Period]:
    return Period.objects.for_org(membership.organization).current_first()


def objectives_for_member(membership: Membership) -> ObjectiveQuerySet:
    return Objective.objects.for_org(membership.organization).visible_to(membership)


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
        objectives_for_member(membership).select_related(
            "period", "owner", "team", "parent"
        ),
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
        KeyResult.objects.select_related("objective__period", "owner"),
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
