"""Query counts of the OKR pages are pinned, and do not grow with the data.

Each page is measured on a small workspace (5 objectives), then 195 more objectives
(3 key results and a check-in each, some private, some aligned) are added and the
same page must take exactly as many queries.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from landmark.okrs import actions
from landmark.okrs.models import CheckIn, Initiative, KeyResult, Kudos, Objective
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Organization, Team, User

D = Decimal


@pytest.fixture
def crowd(org, alice, bob, viewer, sales) -> dict[str, list[Any]]:
    """Owners and teams to spread objectives over; bob is in Sales."""
    org_actions.set_team_members(team=sales, members=[bob, viewer], leads=[alice])
    company = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    marketing = org_actions.create_team(org=org, name="Marketing", parent=company)
    return {"owners": [bob, alice, viewer], "teams": [sales, marketing, company]}


def add_objectives(org: Organization, period, crowd, count: int) -> list[Objective]:
    """`count` objectives with a metric, a threshold and a milestone KR, each checked in.

    Rows go straight in with bulk_create (organization_id set by hand) so 200
    objectives take a fraction of a second. Every fifth objective is private, every
    third is aligned to the one before it, and every seventh includes its children.
    """
    owners: list[User] = crowd["owners"]
    teams: list[Team] = crowd["teams"]
    first = Objective.objects.filter(organization=org).count()
    objectives = Objective.objects.bulk_create(
        Objective(
            organization_id=org.pk,
            period=period,
            owner=owners[n % len(owners)],
            team=teams[n % len(teams)],
            title=f"Objective {first + n}",
            level=Objective.Level.TEAM,
            visibility=(
                Objective.Visibility.PRIVATE
                if n % 5 == 4
                else Objective.Visibility.PUBLIC
            ),
            include_children=n % 7 == 0,
        )
        for n in range(count)
    )
    for n, objective in enumerate(objectives):
        if n % 3 == 2:
            objective.parent = objectives[n - 1]
    Objective.objects.bulk_update(objectives, ["parent"])

    now = timezone.now()
    key_results = KeyResult.objects.bulk_create(
        kr
        for n, objective in enumerate(objectives)
        for kr in (
            KeyResult(
                organization_id=org.pk,
                objective=objective,
                title=f"Grow metric {first + n}",
                kind=KeyResult.Kind.METRIC,
                start=D(0),
                target=D(10),
                current=D(n % 12),
                owner=owners[(n + 1) % len(owners)],
                last_checkin_at=now - timedelta(days=n % 15),
                last_status=KeyResult.Status.ON_TRACK,
                checkins_count=1,
                position=0,
            ),
            KeyResult(
                organization_id=org.pk,
                objective=objective,
                title=f"Hold threshold {first + n}",
                kind=KeyResult.Kind.THRESHOLD,
                threshold_op=KeyResult.ThresholdOp.AT_LEAST,
                threshold_low=D(95),
                current=D(90 + n % 10),
                owner=objective.owner,
                last_checkin_at=now,
                last_status=KeyResult.Status.NEEDS_ATTENTION,
                checkins_count=1,
                position=1,
            ),
            KeyResult(
                organization_id=org.pk,
                objective=objective,
                title=f"Ship milestone {first + n}",
                kind=KeyResult.Kind.MILESTONE,
                done=n % 2 == 0,
                owner=objective.owner,
                last_checkin_at=now - timedelta(days=1),
                last_status=KeyResult.Status.ON_TRACK,
                checkins_count=1,
                position=2,
            ),
        )
    )
    CheckIn.objects.bulk_create(
        CheckIn(
            organization_id=org.pk,
            key_result=kr,
            author=owners[n % len(owners)],
            value=kr.current,
            done=kr.done if kr.kind == KeyResult.Kind.MILESTONE else None,
            status=kr.last_status,
            moved=f"Moved {n}",
            created_at=kr.last_checkin_at or now,
        )
        for n, kr in enumerate(key_results)
    )
    return objectives


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def tree_url(period, **filters) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"period": period.pk, **filters}.items())
    return f"{reverse('tree')}?{query}"


# Pinned counts on the shared fixtures


def test_it_renders_the_tree_in_a_fixed_number_of_queries(
    bob_client, period, key_results, django_assert_num_queries
):
    # Session, user, membership, the membership's user; periods, the period; the
    # skeleton, objectives, key results; teams and owners for the filters; the
    # menu's My focus count.
    with django_assert_num_queries(11):
        response = bob_client.get(tree_url(period))
    assert response.status_code == 200


def test_it_renders_the_team_filtered_tree_in_a_fixed_number_of_queries(
    bob_client, period, sales, key_results, django_assert_num_queries
):
    # As above, plus the team and its subtree; seven for the team's Coach box
    # (loop/coach.team_findings): its objectives, their key results, their KPIs (no
    # parent objective), earlier objectives of their titles, its KPIs' target
    # versions, the KPIs a rule names, its key KPIs.
    with django_assert_num_queries(22):
        response = bob_client.get(tree_url(period, team=sales.pk))
    assert response.status_code == 200


def test_it_renders_my_focus_in_a_fixed_number_of_queries(
    bob_client, key_results, django_assert_num_queries
):
    # (The menu's count is the page's own: no query of its own.) One for the KPIs I
    # own or watch.
    with django_assert_num_queries(8):
        response = bob_client.get(reverse("focus"))
    assert response.status_code == 200


def test_it_renders_the_objective_page_in_a_fixed_number_of_queries(
    bob_client, objective, key_results, alice, bob, django_assert_num_queries
):
    actions.record_checkin(
        key_result=key_results[0], author=bob, status="on_track", value=D(2)
    )
    actions.create_initiative(key_result=key_results[0], title="Webinars", owner=bob)
    actions.give_kudos(
        sender=alice,
        recipient=bob,
        message="Nice",
        org=objective.organization,
        objective=objective,
    )

    # Session, user, membership, the membership's user; the objective; skeleton,
    # objectives, key results; check-ins, initiatives, kudos; kudos recipients; the
    # menu's My focus count; the activity: two for each history (objective, key
    # results: the versions, then their objects' versions) and the check-ins; the
    # comments: the thread, the key results to comment on, their history lines; the
    # Coach box (loop/coach.py): the objective, its key results, its KPIs (it has no
    # parent), earlier objectives of its title, its team's count.
    with django_assert_num_queries(27):
        response = bob_client.get(reverse("objective", args=[objective.pk]))
    assert response.status_code == 200


# The same count for 5 and for 200 objectives


@pytest.mark.parametrize(
    "filters",
    [{}, {"team": "sales"}, {"owner": "alice"}, {"status": "on_track"}],
    ids=["all", "team", "owner", "status"],
)
def test_it_renders_the_tree_in_as_many_queries_for_200_objectives_as_for_5(
    bob_client, org, period, crowd, filters, django_assert_num_queries, fixed_clock
):
    # A fortnight into the quarter, most key results are on pace, so the status
    # filter shows many of them (on the quarter's last day almost none would be).
    fixed_clock.move_to(
        timezone.make_aware(datetime.combine(period.start, time(12))) + timedelta(14)
    )
    named = {"sales": crowd["teams"][0].pk, "alice": crowd["owners"][1].pk}
    url = tree_url(period, **{k: named.get(v, v) for k, v in filters.items()})
    add_objectives(org, period, crowd, 5)
    small = queries_for(bob_client, url)

    add_objectives(org, period, crowd, 195)

    with django_assert_num_queries(small):
        response = bob_client.get(url)
    assert response.content.decode().count('class="node ') > 5


def test_it_renders_my_focus_in_as_many_queries_for_200_objectives_as_for_5(
    bob_client, org, period, crowd, django_assert_num_queries
):
    add_objectives(org, period, crowd, 5)
    small = queries_for(bob_client, reverse("focus"))

    add_objectives(org, period, crowd, 195)

    with django_assert_num_queries(small):
        response = bob_client.get(reverse("focus"))
    assert response.content.decode().count('class="focus-kr"') > 20


def test_it_renders_the_objective_page_in_as_many_queries_however_much_it_holds(
    bob_client,
    org,
    period,
    objective,
    key_results,
    crowd,
    alice,
    bob,
    django_assert_num_queries,
):
    actions.record_checkin(
        key_result=key_results[0], author=bob, status="on_track", value=D(1)
    )
    url = reverse("objective", args=[objective.pk])
    small = queries_for(bob_client, url)

    for n in range(12):
        kr = actions.create_key_result(
            objective=objective,
            title=f"More {n}",
            start=D(0),
            target=D(10),
            owner=alice,
        )
        for value in (1, 2, 3):
            actions.record_checkin(
                key_result=kr,
                author=[alice, bob][value % 2],
                status="on_track",
                value=D(value),
            )
        actions.create_initiative(key_result=kr, title=f"Work {n}", owner=bob)
        Kudos.objects.create(
            organization=org,
            sender=alice,
            recipient=bob,
            message=f"Thanks {n}",
            objective=objective,
        )
    for child in add_objectives(org, period, crowd, 10)[:6]:
        child.parent = objective
        child.save(update_fields=["parent"])

    with django_assert_num_queries(small):
        response = bob_client.get(url)
    page = response.content.decode()
    assert page.count('class="kr-row"') == 15
    assert Initiative.objects.count() == 12
