"""Fix with an OKR as a new team meets it: it drafts into the period they pick
(by default the current one, or the next when fewer than three weeks remain), its
key result shows the KPI's value at once, and the KPI's updates never speak for the
key result's owner.

The KPI is seed article 002's "Median Response Time ≤ 20 m".
"""

from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions
from landmark.kpis.models import KPI
from landmark.loop import actions as loop
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period
from landmark.okrs.models import next_if_ending as pick
from landmark.orgs import actions as org_actions

D = Decimal


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def response_time(org, sales, bob) -> KPI:
    kpi = actions.create_kpi(
        org=org,
        name="Median response time",
        owner=bob,
        team=sales,
        unit="min",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("20"),
    )
    actions.record_data_point(
        kpi=kpi, value=D("45"), time=timezone.now() - timedelta(hours=1), author=bob
    )
    return kpi


def quarter(org, name: str, start: date, state: str = Period.State.ACTIVE) -> Period:
    return okr_actions.create_period(
        org=org, name=name, start=start, end=start + timedelta(days=90), state=state
    )


@pytest.fixture
def ending(org) -> Period:
    """An active quarter with two weeks left."""
    today = timezone.localdate()
    return quarter(org, "Ending", today - timedelta(days=76))


@pytest.fixture
def following(org, ending) -> Period:
    return quarter(org, "Following", ending.end + timedelta(days=1), "planning")


# The default period


def test_the_default_is_the_current_period_with_three_weeks_left(org):
    today = date(2026, 6, 10)
    current = quarter(org, "Q2", date(2026, 4, 1))  # ends June 30: 21 days left
    quarter(org, "Q3", date(2026, 7, 1), "planning")

    assert pick(list(Period.objects.all()), today) == current


def test_the_default_is_the_next_period_with_fewer_than_three_weeks_left(org):
    quarter(org, "Q2", date(2026, 4, 1))
    next_quarter = quarter(org, "Q3", date(2026, 7, 1), "planning")
    okr_actions.create_period(
        org=org,
        name="H2 sprint",
        kind=Period.Kind.CUSTOM,
        start=date(2026, 7, 1),
        end=date(2026, 7, 14),
    )

    # June 11: 20 days left, counting today. The next quarter beats a sprint that
    # starts the same day.
    assert pick(list(Period.objects.all()), date(2026, 6, 11)) == next_quarter


def test_without_a_next_period_the_current_one_stays_the_default(org):
    current = quarter(org, "Q2", date(2026, 4, 1))
    quarter(org, "Q3", date(2026, 7, 1), Period.State.CLOSED)

    assert pick(list(Period.objects.all()), date(2026, 6, 25)) == current


def test_without_any_period_there_is_no_default():
    assert pick([], date(2026, 6, 25)) is None


# The pages


def test_the_kpi_page_offers_the_periods_with_the_next_one_chosen(
    bob_client, response_time, ending, following
):
    page = html(bob_client.get(reverse("kpi", args=[response_time.pk])))

    form = page[page.index('class="fix-okr"') :]
    form = form[: form.index("</form>")]
    assert f'<option value="{following.pk}" selected>Following</option>' in form
    assert f'<option value="{ending.pk}">Ending</option>' in form


def test_the_dashboard_tile_offers_them_too(
    bob_client, response_time, ending, following
):
    page = html(bob_client.get(reverse("kpi_dashboard")))

    tile = page[page.index(f'data-kpi="{response_time.pk}"') :]
    tile = tile[: tile.index("</article>")]
    assert f'<option value="{following.pk}" selected>Following</option>' in tile


def test_a_click_without_a_choice_drafts_into_the_default(
    bob_client, response_time, ending, following
):
    response = bob_client.post(reverse("kpi_fix_with_okr", args=[response_time.pk]))

    objective = Objective.objects.get()
    assert response["Location"] == reverse("objective", args=[objective.pk])
    assert objective.period == following


def test_the_chosen_period_is_used(bob_client, response_time, ending, following):
    bob_client.post(
        reverse("kpi_fix_with_okr", args=[response_time.pk]), {"period": ending.pk}
    )

    assert Objective.objects.get().period == ending


def test_another_organizations_period_is_not_found(
    bob_client, response_time, ending, other_period
):
    response = bob_client.post(
        reverse("kpi_fix_with_okr", args=[response_time.pk]),
        {"period": other_period.pk},
    )

    assert response.status_code == 404
    assert not Objective.objects.exists()


def test_the_api_drafts_into_the_default_too(bob, response_time, ending, following):
    from landmark.api.tests.conftest import api_client

    response = api_client(bob).send(
        "POST", f"/api/v1/kpis/{response_time.pk}/fix-with-okr", {}
    )

    assert response.status_code == 201
    assert response.json()["period_id"] == following.pk


# The key result shows the KPI's value at once


@pytest.mark.parametrize("into", ["ending", "following"])
def test_the_key_result_shows_the_kpis_value_at_once(
    request, bob_client, response_time, into
):
    period = request.getfixturevalue(into)

    bob_client.post(
        reverse("kpi_fix_with_okr", args=[response_time.pk]), {"period": period.pk}
    )

    objective = Objective.objects.get()
    kr = objective.key_results.get()
    assert (kr.start, kr.current, kr.target) == (D("45"), D("45"), D("20"))
    row = html(bob_client.get(reverse("objective", args=[objective.pk])))
    row = row[row.index(f'id="kr-{kr.pk}"') :]
    assert '<strong class="current">45 min</strong>' in row[: row.index("</li>")]


def test_starting_the_planned_period_catches_up_with_the_kpi(
    response_time, following, bob, alice
):
    objective = loop.fix_with_okr(kpi=response_time, period=following, owner=bob)
    # A new value while the period is still planned: key results there wait.
    actions.record_data_point(kpi=response_time, value=D("38"), author=bob)
    kr = objective.key_results.get()
    kr.refresh_from_db()
    assert kr.current == D("45")

    okr_actions.set_period_state(period=following, state=Period.State.ACTIVE)

    kr.refresh_from_db()
    assert kr.current == D("38")


# A KPI's update does not speak for the owner


@pytest.fixture
def tracked(response_time, ending, bob) -> KeyResult:
    objective = loop.fix_with_okr(kpi=response_time, period=ending, owner=bob)
    kr = objective.key_results.get()
    okr_actions.record_checkin(
        key_result=kr,
        author=bob,
        value=D("45"),
        status=KeyResult.Status.OFF_TRACK,
        confidence=3,
        moved="Two agents out sick",
    )
    return kr


def test_a_kpi_update_has_no_status_or_confidence(tracked, response_time, alice):
    actions.record_data_point(kpi=response_time, value=D("35"), author=alice)

    tracked.refresh_from_db()
    update = tracked.checkins.order_by("-created_at", "-pk").first()
    assert update is not None
    assert (update.source, update.value) == (CheckIn.Source.KPI, D("35"))
    assert (update.status, update.confidence) == ("", None)
    # The owner's last word stands.
    assert (tracked.current, tracked.last_status, tracked.last_confidence) == (
        D("35"),
        KeyResult.Status.OFF_TRACK,
        3,
    )


def test_the_pages_do_not_show_it_as_the_owners_check_in(
    bob_client, tracked, response_time, sales, bob, alice
):
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    actions.record_data_point(kpi=response_time, value=D("35"), author=alice)

    page = html(bob_client.get(reverse("objective", args=[tracked.objective_id])))

    history = page[page.index('id="checkin-history"') :]
    rows = history[: history.index("</table>")].split("<tr")[2:]
    kpi_row, owner_row = rows[0], rows[1]
    assert "KPI update" in kpi_row and "Alice" not in kpi_row and "Bob" not in kpi_row
    assert "Off track" not in kpi_row and "35" in kpi_row
    assert "Bob Brown" in owner_row and "Off track" in owner_row
    activity = page[page.index('id="activity"') :]
    assert "<strong>The system</strong> moved <em>" in activity
    assert "to 35 min (it follows its KPI)" in activity
    focus = html(bob_client.get(reverse("focus")))
    assert "followed its KPI: 35 min" in focus


def test_a_key_result_with_only_kpi_updates_has_no_owner_status(
    bob_client, response_time, ending, bob
):
    objective = loop.fix_with_okr(kpi=response_time, period=ending, owner=bob)

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    assert "Nothing yet: only KPI updates" in page
    kr = objective.key_results.get()
    assert (kr.last_status, kr.last_confidence) == ("", None)


def test_the_api_tells_the_kpis_updates_apart(bob, tracked, response_time, alice):
    from landmark.api.tests.conftest import api_client

    actions.record_data_point(kpi=response_time, value=D("35"), author=alice)

    rows = (
        api_client(bob)
        .send("GET", f"/api/v1/check-ins?key_result={tracked.pk}")
        .json()["items"]
    )

    assert [(r["source"], r["status"], r["confidence"]) for r in rows] == [
        ("kpi", "", None),
        ("person", "off_track", 3),
        ("kpi", "", None),
    ]


def test_a_persons_check_in_still_needs_a_status(tracked, bob):
    with pytest.raises(ValidationError, match="choose a status"):
        okr_actions.record_checkin(key_result=tracked, author=bob, value=D("40"))


def test_old_kpi_check_ins_are_marked_and_stop_speaking_for_the_owner(
    tracked, response_time, bob
):
    # As an older version wrote them: the owner's status and confidence copied.
    old = CheckIn.objects.create(
        organization_id=tracked.organization_id,
        key_result=tracked,
        author=bob,
        value=D("30"),
        status=KeyResult.Status.ON_TRACK,
        confidence=9,
        moved=okr_actions.TRACKED_KPI_NOTE,
        created_at=timezone.now() + timedelta(minutes=1),
    )
    KeyResult.objects.filter(pk=tracked.pk).update(
        last_status=KeyResult.Status.ON_TRACK, last_confidence=9
    )
    migration = import_module("landmark.okrs.migrations.0008_checkin_source")

    migration.forwards(apps, None)

    old.refresh_from_db()
    tracked.refresh_from_db()
    assert (old.source, old.status, old.confidence) == ("kpi", "", None)
    assert (tracked.last_status, tracked.last_confidence) == ("off_track", 3)
    mine = tracked.checkins.get(moved="Two agents out sick")
    assert (mine.source, mine.status) == ("person", "off_track")
