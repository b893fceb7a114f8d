"""Every list endpoint runs a fixed number of SQL queries, whatever the data size:
the counts are pinned, and the same with 2 and with 12 of everything."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import TeamMember

# The token's queries: look it up with its owner's membership, then count the call.
TOKEN = 2
LISTS = {
    "/api/v1/teams": TOKEN + 2,
    "/api/v1/members": TOKEN + 1,
    "/api/v1/periods": TOKEN + 1,
    "/api/v1/objectives": TOKEN + 2,
    "/api/v1/key-results": TOKEN + 1,
    "/api/v1/check-ins": TOKEN + 1,
    "/api/v1/initiatives": TOKEN + 1,
    "/api/v1/kudos": TOKEN + 1,
    "/api/v1/kpis": TOKEN + 1,
    "/api/v1/kpis/{kpi}/points": TOKEN + 2,
    "/api/v1/kpis/{kpi}/okrs": TOKEN + 3,
}


def grow(org, period, alice, bob, kpi, n: int) -> None:
    """n more of everything each list shows."""
    for i in range(n):
        team = org_actions.create_team(org=org, name=f"Team {n}-{i}")
        TeamMember.objects.create(organization=org, team=team, user=bob)
        org_actions.create_member(org=org, email=f"p{n}-{i}@acme.test", role="member")
        okr_actions.create_period(
            org=org,
            name=f"P {n}-{i}",
            kind=Period.Kind.CUSTOM,
            start=period.start - timedelta(days=400 + i),
            end=period.start - timedelta(days=300),
        )
        objective = okr_actions.create_objective(
            org=org,
            period=period,
            owner=bob,
            title=f"Goal {n}-{i}",
            level="team",
            team=team,
            kpis=[kpi],
        )
        kr = okr_actions.create_key_result(
            objective=objective,
            title=f"KR {n}-{i}",
            start=Decimal(0),
            target=Decimal(9),
        )
        okr_actions.record_checkin(
            key_result=kr, author=bob, status="on_track", value=Decimal(i)
        )
        okr_actions.create_initiative(key_result=kr, title=f"Do {n}-{i}")
        okr_actions.give_kudos(
            sender=alice, recipient=bob, message="Thanks", org=org, objective=objective
        )
        kpi_actions.create_kpi(org=org, name=f"KPI {n}-{i}")
        kpi_actions.record_data_point(
            kpi=kpi,
            value=Decimal(i),
            time=timezone.now() - timedelta(hours=n * 100 + i),
        )


@pytest.mark.parametrize("path", LISTS)
def test_a_list_costs_the_same_queries_whatever_its_size(
    path, alice_api, org, period, alice, bob
):
    kpi = kpi_actions.create_kpi(org=org, name="Deals")
    url = path.format(kpi=kpi.pk)
    counts, sizes = [], []
    for n in (2, 10):
        grow(org, period, alice, bob, kpi, n)
        with CaptureQueriesContext(connection) as queries:
            response = alice_api.get(url)
        assert response.status_code == 200, response.content
        counts.append(len(queries))
        body = response.json()
        sizes.append(len(body["items"] if isinstance(body, dict) else body))

    assert sizes[1] > sizes[0] >= 2, sizes
    assert counts == [LISTS[path], LISTS[path]], counts


def test_the_pinned_count_holds_with_django_assert_num_queries(
    alice_api, org, period, alice, bob, django_assert_num_queries
):
    kpi = kpi_actions.create_kpi(org=org, name="Deals")
    grow(org, period, alice, bob, kpi, 3)

    with django_assert_num_queries(LISTS["/api/v1/objectives"]):
        alice_api.get("/api/v1/objectives?limit=200")
