"""A key result's description (the form, the objective page, the bound, carrying
over) and a milestone without start and target values: the form clears them, the
action refuses them."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from landmark.lib import bounds
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective
from landmark.okrs.tests.test_views import db_state, field_error, html, kr_form

D = Decimal


@pytest.fixture
def metric(key_results: list[KeyResult]) -> KeyResult:
    return key_results[0]


@pytest.fixture
def milestone(key_results: list[KeyResult]) -> KeyResult:
    return key_results[2]


def new_kr(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"weight": D(1), **fields}
    return kr_form(KeyResult(**values))


# Description


def test_a_key_result_is_added_with_its_description_and_its_page_shows_it(
    bob_client, objective
):
    data = new_kr(title="Cut onboarding time", start=D(30), target=D(10))
    data["description"] = "Median days from signature to first login.\nFrom the CRM."

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response.status_code == 302
    kr = objective.key_results.get()
    assert kr.description == "Median days from signature to first login.\nFrom the CRM."
    page = html(bob_client.get(reverse("objective", args=[objective.pk])))
    assert (
        '<p class="kr-description meta">Median days from signature to first '
        "login.<br>From the CRM.</p>"
    ) in page


def test_the_edit_form_shows_and_changes_the_description(bob_client, metric):
    actions.update_key_result(key_result=metric, description="Signed contracts only.")
    url = reverse("key_result_edit", args=[metric.pk])

    assert "Signed contracts only.</textarea>" in html(bob_client.get(url))

    response = bob_client.post(url, kr_form(metric, description="Any signature."))

    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.description == "Any signature."


def test_a_description_longer_than_the_bound_is_refused_next_to_it(
    bob_client, objective
):
    before = db_state()
    data = new_kr(title="Too wordy", start=D(0), target=D(1))
    data["description"] = "x" * (bounds.MAX_DESCRIPTION + 1)

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response.status_code == 200
    assert "at most 10000 characters" in field_error(html(response), "description")
    assert db_state() == before


def test_a_carried_over_key_result_keeps_its_description(alice, org, period, metric):
    actions.update_key_result(key_result=metric, description="Signed contracts only.")
    later = actions.create_period(
        org=org,
        name="Next",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )

    copy = actions.carry_over_objective(
        objective=metric.objective, into=later, author=alice
    )

    assert [kr.description for kr in copy.key_results.all()] == [
        "Signed contracts only.",
        "",
        "",
    ]


# A milestone has no start or target: the form leaves those fields out, and values
# sent for them anyway (the form shows every field without JavaScript) are cleared,
# never saved. Whoever calls the action directly (the API) is refused.


@pytest.mark.parametrize("field", ["start", "target"])
def test_a_milestone_sent_with_a_start_or_target_value_is_saved_without_it(
    bob_client, objective, field
):
    data = new_kr(title="Launch the pricing page", kind="milestone", unit="pages")
    data[field] = "1"

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response.status_code == 302
    kr = objective.key_results.get()
    assert (kr.kind, kr.start, kr.target, kr.unit) == ("milestone", None, None, "")


def test_turning_a_metric_into_a_milestone_clears_its_values(bob_client, metric):
    url = reverse("key_result_edit", args=[metric.pk])

    response = bob_client.post(url, kr_form(metric, kind="milestone"))

    assert response.status_code == 302
    metric.refresh_from_db()
    assert (metric.kind, metric.start, metric.target, metric.unit) == (
        "milestone",
        None,
        None,
        "",
    )
    last = metric.history.order_by("-history_id").first()
    assert last is not None and last.kind == "milestone" and last.start is None


def test_the_action_refuses_a_milestone_with_values_whoever_calls_it(
    objective: Objective, milestone
):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_key_result(
            objective=objective, title="Ship", kind="milestone", start=D(0), target=D(1)
        )
    assert set(excinfo.value.message_dict) == {"start", "target"}

    with pytest.raises(ValidationError):
        actions.update_key_result(key_result=milestone, target=D(1))
    milestone.refresh_from_db()
    assert milestone.target is None
    assert objective.key_results.count() == 3
