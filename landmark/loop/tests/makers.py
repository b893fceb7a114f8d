"""Objects the coach's tests make again and again (the coach page, its boxes, its
report and the API's read of it)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from landmark.conftest import moment
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective


def six_key_results(
    org: Any,
    period: Any,
    owner: Any,
    team: Any,
    title: str = "Delight our customers",
    **kw: Any,
) -> Objective:
    """An objective with six key results: one more than the coach allows (kr-count)."""
    objective = okr_actions.create_objective(
        org=org, period=period, owner=owner, title=title, team=team, **kw
    )
    for i in range(6):
        okr_actions.create_key_result(
            objective=objective,
            title=f"Sign customers {i}",
            start=Decimal(0),
            target=Decimal(9),
        )
    return objective


def unhealthy_kpi(
    org: Any, name: str = "Average reply time", *, team: Any = None, **kw: Any
) -> KPI:
    """Seed article 002's reply time: answered within 30 minutes, currently 52."""
    kpi = kpi_actions.create_kpi(
        org=org,
        name=name,
        team=team,
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=Decimal("30"),
        **kw,
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=Decimal("52"), time=moment() - timedelta(hours=1)
    )
    return kpi
