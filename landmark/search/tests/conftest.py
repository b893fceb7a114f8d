"""The search tests' world: one row of each kind, and a private pair."""

from decimal import Decimal

import pytest

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Team


@pytest.fixture
def world(org, period, alice, bob, sales, viewer):
    """One of each kind in Acme, each with a word of its own, and a private objective
    and KPI that only Sales members (and admins) may open."""
    objective = okr_actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Close the pipeline deals",
        description="Mid-market buyers",
        team=sales,
    )
    key_result = okr_actions.create_key_result(
        objective=objective,
        title="Sign zephyr customers",
        kind=KeyResult.Kind.METRIC,
        start=Decimal("0"),
        target=Decimal("5"),
    )
    initiative = okr_actions.create_initiative(
        key_result=key_result, title="Quokka outreach campaign"
    )
    kpi = kpi_actions.create_kpi(
        org=org, name="Weekly wombat signups", definition="Counted on Mondays"
    )
    team = org_actions.create_team(org=org, name="Narwhal squad", kind=Team.Kind.TEAM)
    secret_objective = okr_actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Acquire Globex secretly",
        team=sales,
        visibility=Objective.Visibility.PRIVATE,
    )
    secret_kpi = kpi_actions.create_kpi(
        org=org,
        name="Globex takeover runway",
        team=sales,
        visibility=KPI.Visibility.PRIVATE,
    )
    return {
        "objective": objective,
        "key_result": key_result,
        "initiative": initiative,
        "kpi": kpi,
        "team": team,
        "secret_objective": secret_objective,
        "secret_kpi": secret_kpi,
    }
