"""Carrying an objective over keeps what still makes sense in the next period: its
key results tracking their KPIs (re-based, re-titled when Landmark wrote the title),
the KPIs it works on, its alignment and its unfinished initiatives.

The example is seed article 002's support team: a median response time KPI that
must stay at or below 20 minutes, under the company objective "Provide the best
possible experience when people trial our software".
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.loop import actions as loop_actions
from landmark.okrs import actions
from landmark.okrs.actions import Grade
from landmark.okrs.models import Initiative, KeyResult, Objective, ObjectiveKPI, Period

D = Decimal


@pytest.fixture
def next_period(org, period) -> Period:
    return actions.create_period(
        org=org,
        name="Next quarter",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
        state=Period.State.ACTIVE,
    )


@pytest.fixture
def response_time(org, sales, bob) -> KPI:
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Median response time",
        owner=bob,
        team=sales,
        unit="min",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("20"),
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("45"), time=timezone.now() - timedelta(days=1), author=bob
    )
    return kpi


@pytest.fixture
def company(org, period, alice) -> Objective:
    return actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Provide the best possible experience when people trial our software",
        level=Objective.Level.COMPANY,
    )


@pytest.fixture
def fixed(period, response_time, company, bob) -> Objective:
    """Fix with an OKR's draft, aligned under the company objective and started."""
    objective = loop_actions.fix_with_okr(kpi=response_time, period=period, owner=bob)
    return actions.update_objective(
        objective=objective, parent=company, state=Objective.State.ACTIVE
    )


def close(period, grades, into, who) -> None:
    actions.close_period(period=period, grades=grades, carry_into=into, author=who)


def test_it_carries_the_kpi_links_tracking_and_a_re_based_title(
    period, next_period, fixed, response_time, alice
):
    kr = fixed.key_results.get()
    assert kr.title == "Bring Median response time from 45 min to 20 min"
    kpi_actions.record_data_point(kpi=response_time, value=D("35"), author=alice)
    kr.refresh_from_db()
    assert kr.current == D("35")

    close(period, [Grade(fixed, carry_over=True)], next_period, alice)

    copy = Objective.objects.get(period=next_period)
    assert list(copy.kpi_links.values_list("kpi_id", flat=True)) == [response_time.pk]
    new = copy.key_results.get()
    assert new.kpi == response_time
    assert (new.start, new.target) == (D("35"), D("20"))
    assert new.title == "Bring Median response time from 35 min to 20 min"
    # The next period is active: the key result follows its KPI at once.
    assert new.current == D("35")
    # The old objective keeps its own title, numbers and links.
    kr.refresh_from_db()
    assert kr.title == "Bring Median response time from 45 min to 20 min"
    assert ObjectiveKPI.objects.filter(objective=fixed, kpi=response_time).exists()


def test_a_title_someone_wrote_is_kept(
    org, period, next_period, company, response_time, bob, alice
):
    kr = actions.create_key_result(
        objective=company,
        title="Answer trial users within 20 minutes",
        unit="min",
        start=D("45"),
        target=D("20"),
        kpi=response_time,
    )
    kpi_actions.record_data_point(kpi=response_time, value=D("30"), author=bob)

    close(period, [Grade(company, carry_over=True)], next_period, alice)

    new = KeyResult.objects.get(objective__period=next_period)
    assert new.title == kr.title
    assert (new.start, new.kpi) == (D("30"), response_time)


def test_a_reached_or_overshot_key_result_keeps_its_direction(
    period, next_period, company, bob, alice
):
    kr = actions.create_key_result(
        objective=company,
        title="Sign 5 tier one accounts out of the top 20",
        start=D("0"),
        target=D("5"),
    )
    actions.record_checkin(key_result=kr, author=bob, value=D("6"), status="on_track")

    close(period, [Grade(company, carry_over=True)], next_period, alice)

    new = KeyResult.objects.get(objective__period=next_period)
    # Re-basing on 6 would make "from 6 to 5" a decrease.
    assert (new.start, new.target) == (D("0"), D("5"))


def test_the_strategy_map_still_sees_the_kpi_addressed(
    alice_client, period, next_period, fixed, response_time, alice
):
    close(period, [Grade(fixed, carry_over=True)], next_period, alice)

    response = alice_client.get(reverse("strategy_map"), {"period": next_period.pk})

    strategy = response.context["map"]
    assert [t.view.kpi.pk for t in strategy.unhealthy] == []
    addressed = [t.view.kpi.pk for g in strategy.groups for t in g.tiles]
    assert addressed == [response_time.pk]


# Alignment


def test_a_child_carried_before_its_parent_aligns_to_the_parents_copy(
    period, next_period, company, fixed, alice
):
    # The child is graded (and carried) first.
    close(
        period,
        [Grade(fixed, carry_over=True), Grade(company, carry_over=True)],
        next_period,
        alice,
    )

    company_copy = Objective.objects.get(period=next_period, carried_from=company)
    fixed_copy = Objective.objects.get(period=next_period, carried_from=fixed)
    assert fixed_copy.parent == company_copy
    assert company_copy.parent is None


def test_a_parent_carried_first_is_found_too(
    period, next_period, company, fixed, alice
):
    close(
        period,
        [Grade(company, carry_over=True), Grade(fixed, carry_over=True)],
        next_period,
        alice,
    )

    fixed_copy = Objective.objects.get(period=next_period, carried_from=fixed)
    assert fixed_copy.parent == Objective.objects.get(carried_from=company)


def test_a_parent_left_behind_in_the_closed_period_is_not_kept(
    period, next_period, fixed, alice
):
    close(period, [Grade(fixed, carry_over=True)], next_period, alice)

    assert Objective.objects.get(period=next_period).parent is None


def test_a_parent_in_a_year_that_runs_on_is_kept(org, period, next_period, bob, alice):
    year = actions.create_period(
        org=org,
        name="The year",
        kind=Period.Kind.CUSTOM,
        start=period.start,
        end=next_period.end,
        state=Period.State.ACTIVE,
    )
    annual = actions.create_objective(
        org=org, period=year, owner=alice, title="Win the Midwest", level="company"
    )
    quarter = actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Increase Brand Awareness in the Midwest",
        level="company",
        parent=annual,
    )

    close(period, [Grade(quarter, carry_over=True)], next_period, alice)

    assert Objective.objects.get(period=next_period).parent == annual


def test_a_parent_whose_period_ends_before_the_next_one_starts_is_not_kept(
    org, period, next_period, bob, alice
):
    earlier = actions.create_period(
        org=org,
        name="Ends with this quarter",
        kind=Period.Kind.CUSTOM,
        start=period.start - timedelta(days=30),
        end=period.end,
        state=Period.State.ACTIVE,
    )
    parent = actions.create_objective(
        org=org, period=earlier, owner=alice, title="Win the Midwest", level="company"
    )
    child = actions.create_objective(
        org=org, period=period, owner=bob, title="Be featured", parent=parent
    )

    close(period, [Grade(child, carry_over=True)], next_period, alice)

    assert Objective.objects.get(period=next_period).parent is None


# Initiatives, due dates, a second close


def test_unfinished_initiatives_and_due_dates_that_still_fit_come_along(
    period, next_period, company, bob, alice
):
    kr = actions.create_key_result(
        objective=company,
        title="Launch virtual midwest road show tour in three cities",
        kind=KeyResult.Kind.MILESTONE,
        due_date=period.end - timedelta(days=10),
    )
    later = actions.create_key_result(
        objective=company,
        title="Be featured in three midwest media outlets",
        start=D("0"),
        target=D("3"),
        due_date=next_period.start + timedelta(days=20),
    )
    for title, status in [
        ("Book the venues", Initiative.Status.DONE),
        ("Invite the press", Initiative.Status.IN_PROGRESS),
        ("Record the keynote", Initiative.Status.BLOCKED),
    ]:
        actions.create_initiative(key_result=kr, title=title, status=status, owner=bob)

    close(period, [Grade(company, carry_over=True)], next_period, alice)

    new, new_later = KeyResult.objects.filter(objective__period=next_period)
    assert new.due_date is None  # its date was in the closed period
    assert new_later.due_date == later.due_date
    carried = list(new.initiatives.values_list("title", "status", "owner"))
    assert carried == [
        ("Invite the press", Initiative.Status.IN_PROGRESS, bob.pk),
        ("Record the keynote", Initiative.Status.BLOCKED, bob.pk),
    ]


def test_closing_again_after_a_reopening_does_not_copy_twice(
    period, next_period, fixed, alice
):
    close(period, [Grade(fixed, carry_over=True)], next_period, alice)
    actions.set_period_state(period=period, state=Period.State.ACTIVE)

    close(period, [Grade(fixed, carry_over=True)], next_period, alice)

    assert Objective.objects.filter(period=next_period).count() == 1
    fixed.refresh_from_db()
    assert fixed.outcome == Objective.Outcome.CARRIED_OVER


def test_a_planning_period_gets_a_draft_that_tracks_the_kpi(
    org, period, fixed, response_time, alice
):
    planning = actions.create_period(
        org=org,
        name="Planned",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )
    close(period, [Grade(fixed, carry_over=True)], planning, alice)
    copy = Objective.objects.get(period=planning)
    assert copy.state == Objective.State.DRAFT
    new = copy.key_results.get()
    # It tracks the KPI and shows its value at once, though the period is planned.
    assert (new.kpi, new.current) == (response_time, D("45"))
