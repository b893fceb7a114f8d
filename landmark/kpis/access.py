"""The only way views reach KPI data: scoped to the caller's organization.

Another organization's KPI, or a private one the caller may not see, is a 404.
Writing needs a role that can write (403 otherwise).
"""

from django.shortcuts import get_object_or_404

from landmark.kpis.models import KPI, DataPoint, KPIQuerySet
from landmark.orgs.access import require_write
from landmark.orgs.models import Membership


def kpis_for_member(membership: Membership) -> KPIQuerySet:
    return KPI.objects.for_org(membership.organization).visible_to(membership)


def get_kpi_for_member(membership: Membership, pk: int, *, write: bool = False) -> KPI:
    kpi = get_object_or_404(
        kpis_for_member(membership).select_related("owner", "team"), pk=pk
    )
    if write:
        require_write(membership)
    return kpi


def get_point_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> DataPoint:
    point = get_object_or_404(
        DataPoint.objects.select_related("kpi"),
        organization=membership.organization,
        pk=pk,
    )
    get_kpi_for_member(membership, point.kpi_id, write=write)
    return point
