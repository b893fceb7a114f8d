"""Audit history: who changed what and when, the organization log, and "as of date"."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.lib import numbers
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective


def html(response) -> str:
    return response.content.decode()


def text(markup: str) -> str:
    """The words a reader sees: no tags, entities decoded, spaces collapsed."""
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())
    return words.replace(" ,", ",").replace(" :", ":")


@pytest.mark.django_db
def test_it_shows_who_changed_an_objective_on_its_page(bob_client, objective, bob):
    bob_client.post(
        reverse("objective_edit", args=[objective.pk]),
        {
            "title": "Become the obvious choice in the Midwest",
            "period": objective.period_id,
            "level": objective.level,
            "team": objective.team_id,
            "owner": objective.owner_id,
            "type": objective.type,
            "commitment": objective.commitment,
            "visibility": objective.visibility,
            "state": objective.state,
        },
    )

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))
    feed = text(page[page.index('id="activity"') :])
    assert (
        "Bob Brown changed the title of objective Become the obvious choice in the "
        f"Midwest from {objective.title} to Become the obvious choice in the Midwest"
    ) in feed


@pytest.mark.django_db
def test_check_ins_and_target_changes_appear_in_the_feed(
    bob_client, objective, key_results, bob
):
    metric = key_results[0]
    actions.record_checkin(
        key_result=metric, author=bob, value=Decimal("3"), status="on_track"
    )
    actions.update_key_result(key_result=metric, target=Decimal("6"))

    feed = html(bob_client.get(reverse("objective", args=[objective.pk])))
    feed = text(feed[feed.index('id="activity"') :])
    assert (
        f"Bob Brown moved {metric.title} from "
        f"{numbers.from_to(metric.start, 3, metric.unit, 'en_US')}, on track"
    ) in feed
    assert (f"changed the target of key result {metric.title} from 5 to 6") in feed
    assert "value:" not in feed and "status:" not in feed


def backdate(model, pk: int, when) -> None:
    model.history.filter(id=pk, history_type="+").update(history_date=when)


@pytest.mark.django_db
def test_as_of_shows_the_objective_as_it_stood_on_a_past_date(
    bob_client, objective, key_results, bob
):
    metric = key_results[0]
    now = timezone.now()
    backdate(Objective, objective.pk, now - timedelta(days=10))
    for kr in key_results:
        backdate(KeyResult, kr.pk, now - timedelta(days=10))
    actions.record_checkin(
        key_result=metric,
        author=bob,
        value=Decimal("2"),
        status="on_track",
        at=now - timedelta(days=5),
    )
    actions.record_checkin(
        key_result=metric,
        author=bob,
        value=Decimal("4"),
        status="on_track",
        at=now - timedelta(hours=1),
    )
    actions.update_key_result(key_result=metric, target=Decimal("8"))

    three_days_ago = (timezone.localdate() - timedelta(days=3)).isoformat()
    then = html(
        bob_client.get(
            reverse("objective_as_of", args=[objective.pk]), {"date": three_days_ago}
        )
    )
    rows = then[then.index('id="as-of-krs"') :]
    # Target 5 then, value 2: 40 %; objective (0.4 + 0 + 0) / 3 = 13 %.
    assert "0 → 5" in rows
    assert "40%" in rows
    assert 'id="as-of-progress">13%' in then

    today = html(bob_client.get(reverse("objective_as_of", args=[objective.pk])))
    assert "0 → 8" in today[today.index('id="as-of-krs"') :]
    assert "50%" in today[today.index('id="as-of-krs"') :]

    long_ago = (timezone.localdate() - timedelta(days=30)).isoformat()
    before = html(
        bob_client.get(
            reverse("objective_as_of", args=[objective.pk]), {"date": long_ago}
        )
    )
    assert "did not exist yet" in before


@pytest.mark.django_db
def test_as_of_refuses_the_future_and_hides_other_organizations(
    bob_client, charlie_client, objective
):
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    page = html(
        bob_client.get(
            reverse("objective_as_of", args=[objective.pk]), {"date": future}
        )
    )
    assert "Choose a date in the past" in page

    assert (
        charlie_client.get(reverse("objective_as_of", args=[objective.pk])).status_code
        == 404
    )


@pytest.mark.django_db
def test_the_organization_log_is_for_admins_and_stays_inside_the_organization(
    alice_client, bob_client, charlie_client, objective, other_objective
):
    page = html(alice_client.get(reverse("organization_log")))
    assert f"created objective {objective.title}" in text(page)
    assert other_objective.title not in page

    assert bob_client.get(reverse("organization_log")).status_code == 403
    assert other_objective.title in html(
        charlie_client.get(reverse("organization_log"))
    )
    assert objective.title not in html(charlie_client.get(reverse("organization_log")))


@pytest.mark.django_db
def test_the_organization_log_shows_values_entered_corrected_and_targets_set(
    alice_client, org, bob, charlie, other_org
):
    from landmark.kpis import actions as kpi_actions

    kpi = kpi_actions.create_kpi(
        org=org,
        name="Average response time",
        target_kind="at_most",
        target_high=Decimal("30"),
    )
    first = kpi_actions.record_data_point(kpi=kpi, value=Decimal("52"), author=bob)
    kpi_actions.correct_data_point(point=first, value=Decimal("48"), author=bob)
    month = timezone.localdate().replace(day=1)
    kpi_actions.set_kpi_targets(kpi=kpi, schedule=[(month, None, Decimal("40"))])
    theirs = kpi_actions.create_kpi(org=other_org, name="Their secret revenue")
    kpi_actions.record_data_point(kpi=theirs, value=Decimal("1"), author=charlie)

    page = text(html(alice_client.get(reverse("organization_log"))))
    assert "Bob Brown entered a value of KPI Average response time: 52 for" in page
    assert "Bob Brown corrected a value of KPI Average response time: 48 for" in page
    assert "(was 52)" in page
    assert (
        "The system set the target of KPI Average response time for the window "
        f"from {month:%Y-%m-%d} to 40"
    ) in page
    assert "Their secret revenue" not in page


@pytest.mark.django_db
def test_a_batch_of_values_reads_as_one_event_in_the_organization_log(
    alice_client, org, bob
):
    from landmark.kpis import actions as kpi_actions
    from landmark.kpis.actions import ParsedRow

    kpi = kpi_actions.create_kpi(org=org, name="Website traffic")
    start = timezone.now() - timedelta(days=20)
    rows = [
        ParsedRow(line=i + 2, time=start + timedelta(days=i), value=Decimal(i), note="")
        for i in range(10)
    ]
    kpi_actions.import_data_points(kpi=kpi, rows=rows, author=bob)

    page = text(html(alice_client.get(reverse("organization_log"))))
    assert page.count("entered 10 values of KPI Website traffic") == 1
    assert page.count("values of KPI Website traffic") == 1
    assert "; 7 more" in page  # ten values: three shown
