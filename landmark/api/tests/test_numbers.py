"""The API returns every number the web shows: each demo objective, key result and
KPI is read through the API's lists and through its own page (the objective's page
for its key results), at one moment, and both give the same numbers."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from landmark.api.schemas import plain_decimal
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.cli import DEMO_EMAIL
from landmark.conftest import login
from landmark.demo.acme import build_demo
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs.models import User


def read_all(api: ApiClient, path: str) -> list[dict[str, Any]]:
    """Every item of a list, page after page."""
    items: list[dict[str, Any]] = []
    url = f"{path}{'&' if '?' in path else '?'}limit=200"
    while True:
        response = api.get(url)
        assert response.status_code == 200, response.content
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        url = (
            f"{path}{'&' if '?' in path else '?'}limit=200&cursor={page['next_cursor']}"
        )


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else plain_decimal(value)


def value_of(choice: Any) -> str | None:
    return None if choice is None else str(choice.value)


@pytest.mark.django_db
def test_every_demo_number_is_the_same_through_the_api_and_through_its_page(
    fixed_clock, settings
):
    settings.API_RATE_LIMIT = 1_000_000
    org = build_demo()
    owner = User.objects.get(email=DEMO_EMAIL)
    web, api = login(owner), ApiClient(token_for(owner, org=org))
    # Both readings at one moment: expected progress moves with the clock.
    fixed_clock.move_to(timezone.now(), tick=False)

    objectives = read_all(api, "/api/v1/objectives")
    key_results = {kr["id"]: kr for kr in read_all(api, "/api/v1/key-results")}
    kpis = read_all(api, "/api/v1/kpis") + read_all(api, "/api/v1/kpis?archived=true")

    assert len(objectives) == Objective.objects.filter(organization=org).count()
    assert len(key_results) == KeyResult.objects.filter(organization=org).count()
    assert len(kpis) == KPI.objects.filter(organization=org).count()
    seen_krs: set[int] = set()
    paces: set[str | None] = set()
    for o in objectives:
        page = web.get(f"/objectives/{o['id']}/")
        assert page.status_code == 200
        view = page.context["view"]
        assert o["progress"] == view.progress, o["title"]
        assert o["expected_progress"] == view.expected
        assert o["period_elapsed"] == view.tau
        assert o["pace"] == value_of(view.pace)
        assert o["owner_status"] == value_of(view.owner_status)
        assert o["owner_confidence"] == view.owner_confidence
        shown = (
            f"{view.percent}%" if view.progress is not None else "No key results yet"
        )
        html = page.content.decode()
        assert f'id="objective-progress">{shown}<' in html
        assert f"Expected by now: {round(o['expected_progress'] * 100)}%" in html
        paces.add(o["pace"])
        for k in view.key_results:
            kr = key_results[k.kr.pk]
            seen_krs.add(kr["id"])
            assert kr["progress"] == k.progress_raw, kr["title"]
            assert kr["progress_clamped"] == k.progress
            assert kr["expected_progress"] == k.tau
            assert kr["expected_value"] == decimal_text(k.expected)
            assert kr["pace"] == k.pace.value
            assert kr["stale"] == (k.pace == "stale")
            assert kr["last_status"] == k.kr.last_status
            assert kr["last_confidence"] == k.kr.last_confidence
            last = k.kr.last_checkin_at
            assert kr["last_checkin_at"] == (
                None if last is None else last.isoformat().replace("+00:00", "Z")
            )
    assert seen_krs == set(key_results)
    # The demo shows every kind of objective: the comparison covered them.
    assert {"on_track", "off_track", None} <= paces, paces

    healths: set[str] = set()
    for item in kpis:
        page = web.get(f"/kpis/{item['id']}/")
        assert page.status_code == 200
        view = page.context["view"]
        assert item["current_value"] == decimal_text(view.current), item["name"]
        assert item["current_window_start"] == (
            None if view.current_start is None else view.current_start.isoformat()
        )
        assert item["health"] == view.health.value
        assert item["unhealthy_streak"] == view.streak
        assert item["trend"] == view.trend
        assert item["forecast_windows"] == view.forecast
        assert item["current_target_low"] == decimal_text(view.current_target.low)
        assert item["current_target_high"] == decimal_text(view.current_target.high)
        assert f'id="kpi-health" class="status {view.health.value}"' in (
            page.content.decode()
        )
        healths.add(item["health"])
    assert {"healthy", "unhealthy"} <= healths, healths


def test_a_key_result_reads_its_pace_expected_value_and_staleness(
    bob_api, key_results, fixed_clock
):
    metric = key_results[0]
    okr_actions.record_checkin(
        key_result=metric, author=metric.owner, status="off_track", value=Decimal(1)
    )
    fixed_clock.move_to(timezone.now(), tick=False)

    kr = bob_api.get(f"/api/v1/key-results/{metric.pk}").json()

    tau = metric.time_share(metric.objective.period)
    assert kr["progress"] == 0.2
    assert kr["progress_clamped"] == 0.2
    assert kr["expected_progress"] == tau
    assert kr["expected_value"] == plain_decimal(
        metric.expected_value(metric.objective.period)
    )
    assert kr["stale"] is False
    objective = bob_api.get(f"/api/v1/objectives/{metric.objective_id}").json()
    assert objective["owner_status"] == "off_track"
    # Three weeks without a check-in: stale, whatever the progress.
    fixed_clock.move_to(timezone.now() + timedelta(days=21), tick=False)
    later = bob_api.get(f"/api/v1/key-results/{metric.pk}").json()
    assert (later["pace"], later["stale"]) == ("stale", True)


def test_objectives_filter_by_status_and_kpis_by_health(alice_api, org, objective):
    healthy = kpi_actions.create_kpi(
        org=org, name="Up", target_kind="at_least", target_low=Decimal(10)
    )
    sick = kpi_actions.create_kpi(
        org=org, name="Down", target_kind="at_least", target_low=Decimal(10)
    )
    kpi_actions.record_data_point(
        kpi=healthy, value=Decimal(12), time=timezone.now() - timedelta(1)
    )
    kpi_actions.record_data_point(
        kpi=sick, value=Decimal(2), time=timezone.now() - timedelta(1)
    )
    done = okr_actions.create_key_result(
        objective=objective, title="Ship it", kind="milestone"
    )
    okr_actions.record_checkin(
        key_result=done, author=objective.owner, status="on_track", done=True
    )
    empty = okr_actions.create_objective(
        org=org, period=objective.period, owner=objective.owner, title="Empty"
    )

    def names(path: str, key: str) -> list[str]:
        response = alice_api.get(path)
        assert response.status_code == 200, response.content
        return [item[key] for item in response.json()["items"]]

    assert names("/api/v1/kpis?health=unhealthy", "name") == ["Down"]
    assert names("/api/v1/kpis?health=healthy", "name") == ["Up"]
    assert names("/api/v1/kpis?health=stale", "name") == []
    assert names("/api/v1/objectives?status=on_track", "title") == [objective.title]
    assert names("/api/v1/objectives?status=off_track", "title") == []
    listed = {
        o["title"]: o for o in alice_api.get("/api/v1/objectives").json()["items"]
    }
    assert listed[empty.title]["progress"] is None
    assert listed[empty.title]["pace"] is None
    assert listed[objective.title]["progress"] == 1.0
    assert alice_api.get("/api/v1/objectives?status=x").status_code == 422


def test_a_status_filter_pages_through_every_match_once(
    alice_api, org, period, bob, fixed_clock
):
    # The quarter's last day: an open milestone measured from its start is behind.
    fixed_clock.move_to(period.ends_at - timedelta(hours=12))
    for i in range(7):
        o = okr_actions.create_objective(
            org=org, period=period, owner=bob, title=f"Goal {i}"
        )
        # Measured from the period's start, so an open milestone is behind by now.
        kr = okr_actions.create_key_result(
            objective=o,
            title=f"Milestone {i}",
            kind="milestone",
            start_date=period.start,
        )
        okr_actions.record_checkin(
            key_result=kr, author=bob, status="on_track", done=i % 2 == 0
        )

    seen, url = [], "/api/v1/objectives?status=on_track&limit=2"
    while True:
        page = alice_api.get(url).json()
        assert len(page["items"]) <= 2
        seen += [o["title"] for o in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/api/v1/objectives?status=on_track&limit=2&cursor={page['next_cursor']}"

    assert seen == ["Goal 0", "Goal 2", "Goal 4", "Goal 6"]


def test_an_objective_counting_its_children_reads_them_as_its_page_does(
    alice_api, alice_client, org, period, bob
):
    parent = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Parent", include_children=True
    )
    okr_actions.create_key_result(objective=parent, title="Open", kind="milestone")
    child = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Child", parent=parent
    )
    kr = okr_actions.create_key_result(objective=child, title="Done", kind="milestone")
    okr_actions.record_checkin(key_result=kr, author=bob, status="on_track", done=True)

    # Alone on its page of the list, the parent still counts its child (0 and 1).
    alone = alice_api.get("/api/v1/objectives?sort=-title&limit=1").json()["items"]
    one = alice_api.get(f"/api/v1/objectives/{parent.pk}").json()
    page = alice_client.get(f"/objectives/{parent.pk}/")

    assert [o["title"] for o in alone] == ["Parent"]
    assert alone[0]["progress"] == one["progress"] == 0.5
    assert page.context["view"].progress == 0.5
