"""Who may configure a KPI's connector: the organization's admins and the KPI's owner
(who must still be able to write). Another organization's KPI, or one the caller
cannot see, is a 404; any other member gets 403."""

from django.core.exceptions import PermissionDenied

from landmark.connectors.models import Connector
from landmark.kpis.access import get_kpi_for_member
from landmark.kpis.models import KPI
from landmark.orgs.models import Membership


def may_configure(membership: Membership, kpi: KPI) -> bool:
    return membership.is_admin or (
        membership.can_write and kpi.owner_id == membership.user_id
    )


def get_kpi_for_connector(membership: Membership, pk: int) -> KPI:
    kpi = get_kpi_for_member(membership, pk)
    if not may_configure(membership, kpi):
        raise PermissionDenied(
            "Only the organization's admins and the KPI's owner configure its connector."
        )
    return kpi


def connector_of(kpi: KPI) -> Connector | None:
    return Connector.objects.filter(kpi=kpi).first()
