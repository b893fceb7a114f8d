"""Numbers read the same on every page, in the organization's locale
(landmark/lib/numbers.py): the KPI dashboard, a KPI's page and its chart, an
objective's page; the organization's locale is validated and the API reads it."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from landmark.api.tests.conftest import ApiClient, token_for
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult

D = Decimal


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def revenue(org, bob, sales) -> KPI:
    """Monthly revenue in thousands of dollars, at least $1.5M a month."""
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Monthly revenue",
        owner=bob,
        team=sales,
        frequency=KPI.Frequency.MONTHLY,
        aggregation=KPI.Aggregation.SUM,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D(1500),
        unit="k USD",
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("1688.2"), time=timezone.now(), author=bob
    )
    return kpi


@pytest.fixture
def okr_numbers(objective, bob) -> dict[str, KeyResult]:
    """A key result below its start, a metric of visitors, a threshold in money and
    a milestone not yet done."""
    create = okr_actions.create_key_result
    visitors = create(
        objective=objective,
        title="Grow the website's traffic",
        unit="visitors",
        start=D(30000),
        target=D(45000),
    )
    okr_actions.record_checkin(
        key_result=visitors,
        author=bob,
        value=D(26250),
        status=KeyResult.Status.OFF_TRACK,
    )
    pipeline = create(
        objective=objective,
        title="Keep the pipeline full",
        kind=KeyResult.Kind.THRESHOLD,
        unit="k USD",
        threshold_op=KeyResult.ThresholdOp.AT_LEAST,
        threshold_low=D(100),
    )
    launch = create(
        objective=objective, title="Launch the partner page", kind="milestone"
    )
    return {"visitors": visitors, "pipeline": pipeline, "launch": launch}


def test_the_kpi_dashboard_writes_money_in_compact_form(bob_client, revenue):
    shown = page(bob_client, reverse("kpi_dashboard"))
    assert '<strong class="kpi-value">$1.69M</strong>' in shown
    assert "Target ≥ $1.5M" in shown
    assert "1688.2 k USD" not in shown


def test_the_kpi_page_and_its_chart_write_the_same_numbers(bob_client, revenue):
    shown = page(bob_client, reverse("kpi", args=[revenue.pk]))
    assert '<strong id="kpi-current">$1.69M</strong>' in shown
    assert '<span id="kpi-target">≥ $1.5M</span>' in shown
    assert "at least $1.5M; warning down to $1.35M" in shown
    # The data points table writes every digit: a person checks and corrects them.
    assert "$1,688,200" in shown
    chart = json.loads(
        bob_client.get(reverse("kpi_chart_data", args=[revenue.pk])).content
    )
    assert chart["value_labels"][-1] == "$1.69M"
    assert chart["low_labels"][-1] == "$1.5M"
    assert chart["y_tick_labels"] and all(
        label.startswith("$") for label in chart["y_tick_labels"]
    )
    assert len(chart["y_ticks"]) == len(chart["y_tick_labels"])


def test_the_objective_page_writes_ranges_progress_below_start_and_milestones(
    bob_client, objective, okr_numbers
):
    shown = page(bob_client, reverse("objective", args=[objective.pk]))
    visitors, pipeline, launch = (
        okr_numbers["visitors"],
        okr_numbers["pipeline"],
        okr_numbers["launch"],
    )

    def row(kr: KeyResult) -> str:
        start = shown.index(f'id="kr-{kr.pk}"')
        return shown[start : shown.index("</li>", start)]

    assert "30,000 → 45,000 visitors" in row(visitors)
    assert "26,250 visitors" in row(visitors)
    assert ">25% below start</strong>" in row(visitors)
    assert "-25%" not in row(visitors)
    assert "≥ $100K" in row(pipeline)
    assert '<strong class="current">Not done</strong>' in row(launch)
    assert ">Not done</strong>" in row(launch).split("Progress")[1]
    assert "0%" not in row(launch).split("Progress")[1].split("</div>")[0]


def test_the_organizations_locale_changes_the_decimal_sign(
    alice_client, bob_client, org, revenue, objective, okr_numbers
):
    """An admin picks the number format on Settings → Organization."""
    settings_page = page(alice_client, reverse("organization_settings"))
    assert '<option value="de_DE">German (Germany) — de_DE</option>' in settings_page
    form = {
        "name": org.name,
        "time_zone": org.time_zone,
        "week_start": str(org.week_start),
        "on_track_gap": str(org.on_track_gap),
        "off_track_gap": str(org.off_track_gap),
        "checkin_cadence_days": str(org.checkin_cadence_days),
        "checkin_grace_days": str(org.checkin_grace_days),
        "coach_min_key_results": str(org.coach_min_key_results),
        "coach_max_key_results": str(org.coach_max_key_results),
        "coach_max_team_objectives": str(org.coach_max_team_objectives),
        "coach_max_key_kpis": str(org.coach_max_key_kpis),
    }
    refused = alice_client.post(
        reverse("organization_settings"), {**form, "locale": "xx_YY"}
    )
    assert "Not a locale Landmark knows" in refused.content.decode()
    saved = alice_client.post(
        reverse("organization_settings"), {**form, "locale": "de_DE"}
    )
    assert saved.status_code == 302
    org.refresh_from_db()
    assert org.locale == "de_DE"

    dashboard = page(bob_client, reverse("kpi_dashboard"))
    assert '<strong class="kpi-value">1,69\xa0Mio.\xa0$</strong>' in dashboard
    kpi_page = page(bob_client, reverse("kpi", args=[revenue.pk]))
    assert "1.688.200\xa0$" in kpi_page  # the points table, written out
    objective_page = page(bob_client, reverse("objective", args=[objective.pk]))
    assert "30.000 → 45.000 visitors" in objective_page
    assert "25\xa0% below start" in objective_page


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "fr", "pt_BR"])
def test_a_locale_babel_knows_is_valid(org, locale):
    org.locale = locale
    org.full_clean()


@pytest.mark.parametrize("locale", ["", "xx_YY", "english", "de-DE; drop"])
def test_an_unknown_locale_is_refused_with_a_clear_message(org, locale):
    org.locale = locale
    with pytest.raises(ValidationError) as refused:
        org.full_clean()
    assert "locale" in refused.value.message_dict
    if locale:
        assert (
            "is not a locale Landmark knows" in refused.value.message_dict["locale"][0]
        )


def test_the_api_reads_and_changes_the_organizations_locale(alice, org):
    api = ApiClient(token_for(alice))
    bad = api.send("PATCH", "/api/v1/organization", {"locale": "xx_YY"})
    assert bad.status_code == 422
    assert bad["Content-Type"] == "application/problem+json"
    assert "locale" in {e["field"] for e in bad.json()["errors"]}
    changed = api.send("PATCH", "/api/v1/organization", {"locale": "de_DE"})
    assert changed.status_code == 200, changed.content
    assert api.get("/api/v1/organization").json()["locale"] == "de_DE"
    org.refresh_from_db()
    assert org.locale == "de_DE"
