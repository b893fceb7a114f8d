"""Every list endpoint runs a fixed number of SQL queries, whatever the data size:
the counts are pinned, and the same with 2 and with 12 of everything.

The numbers the web shows (objectives' progress and pace, key results' pace, KPIs'
health, streak, trend and forecast) are part of the lists: their cost is pinned
apart (NUMBERS), on top of what each list cost without them (WITHOUT_NUMBERS)."""

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
WITHOUT_NUMBERS = {
    "/api/v1/teams": TOKEN + 2,
    "/api/v1/members": TOKEN + 1,
    "/api/v1/periods": TOKEN + 1,
    # The objectives, their KPI links, their parents (grow aligns them).
    "/api/v1/objectives": TOKEN + 3,
    "/api/v1/key-results": TOKEN + 1,
    "/api/v1/check-ins": TOKEN + 1,
    "/api/v1/initiatives": TOKEN + 1,
    "/api/v1/kudos": TOKEN + 1,
    "/api/v1/kpis": TOKEN + 1,
    "/api/v1/kpis/{kpi}/points": TOKEN + 2,
    "/api/v1/kpis/{kpi}/okrs": TOKEN + 4,
}
# What the numbers add: the page's key results in one prefetch (objectives), and
# when some objective counts its children (as in grow), the alignments of its period
# in one query; the children that are not in the list and their key results in two
# more (the OKRs working on a KPI: their children work on none). Every KPI's windows
# in one query and their targets per window in another (KPIs). A key result reads its
# period in its own query (a join), at no extra cost.
NUMBERS = {
    "/api/v1/objectives": 2,
    "/api/v1/kpis/{kpi}/okrs": 4,
    "/api/v1/kpis": 2,
}
LISTS = {path: n + NUMBERS.get(path, 0) for path, n in WITHOUT_NUMBERS.items()}
# Filtered by a computed status or health, and objectives whose children are not in
# the list.
FILTERED = {
    # The health stored with each KPI: a condition in the same query.
    "/api/v1/kpis?health=unhealthy": LISTS["/api/v1/kpis"],
    # Up to 500 objectives numbered at a time while looking for the status (the
    # status personal objectives have at the test's moment).
    "/api/v1/objectives?status={status}": LISTS["/api/v1/objectives"],
    # Company objectives: aligned to nothing (no parents to read), and their children
    # and grandchildren are not in the list (two more).
    "/api/v1/objectives?level=company": LISTS["/api/v1/objectives"] - 1 + 2,
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
        # A company objective counting its children: the team objective and a
        # grandchild (whose progress is part of the team objective's).
        company = okr_actions.create_objective(
            org=org,
            period=period,
            owner=alice,
            title=f"Company {n}-{i}",
            level="company",
            include_children=True,
        )
        okr_actions.update_objective(
            objective=objective, parent=company, include_children=True
        )
        grandchild = okr_actions.create_objective(
            org=org,
            period=period,
            owner=bob,
            title=f"Personal {n}-{i}",
            level="personal",
            parent=objective,
        )
        okr_actions.create_key_result(
            objective=grandchild, title=f"Done {n}-{i}", kind="milestone"
        )
        okr_actions.create_initiative(key_result=kr, title=f"Do {n}-{i}")
        okr_actions.give_kudos(
            sender=alice, recipient=bob, message="Thanks", org=org, objective=objective
        )
        watched = kpi_actions.create_kpi(
            org=org,
            name=f"KPI {n}-{i}",
            frequency="daily",
            target_kind="at_least",
            target_low=Decimal(100),
        )
        for days in range(3):
            kpi_actions.record_data_point(
                kpi=watched,
                value=Decimal(10 * days + i),
                time=timezone.now() - timedelta(days=days, minutes=1),
            )
        today = timezone.localdate()
        kpi_actions.set_kpi_targets(kpi=watched, schedule=[(today, Decimal(50), None)])
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


@pytest.mark.parametrize("path", FILTERED)
def test_a_filtered_list_costs_the_same_queries_whatever_its_size(
    path, alice_api, org, period, alice, bob
):
    kpi = kpi_actions.create_kpi(org=org, name="Deals")
    counts, sizes = [], []
    for n in (2, 10):
        grow(org, period, alice, bob, kpi, n)
        personal = alice_api.get("/api/v1/objectives?level=personal&limit=1")
        url = path.format(status=personal.json()["items"][0]["pace"])
        with CaptureQueriesContext(connection) as queries:
            response = alice_api.get(url)
        assert response.status_code == 200, response.content
        counts.append(len(queries))
        sizes.append(len(response.json()["items"]))

    assert sizes[1] > sizes[0] >= 2, sizes
    assert counts == [FILTERED[path], FILTERED[path]], counts


def test_the_pinned_count_holds_with_django_assert_num_queries(
    alice_api, org, period, alice, bob, django_assert_num_queries
):
    kpi = kpi_actions.create_kpi(org=org, name="Deals")
    grow(org, period, alice, bob, kpi, 3)

    with django_assert_num_queries(LISTS["/api/v1/objectives"]):
        alice_api.get("/api/v1/objectives?limit=200")
