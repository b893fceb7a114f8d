"""Forms that fit the task (docs/okrs.md, "The forms"): the key result form shows the
fields its kind uses and clears the others; the objective form leads with the
essentials and keeps the rest under "More"; KPIs are picked by searching the ones the
member may see; a draft is activated in one click."""

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.conftest import login
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.kpis.picker import PICK_LIMIT
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI
from landmark.okrs.tests.test_views import db_state, field_error, html, kr_form
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Team, User

D = Decimal
HX = {"HTTP_HX_REQUEST": "true"}


def field_class(page: str, name: str) -> str | None:
    """The class of a field's wrapper, or None when the page has no such field."""
    match = re.search(rf'<div class="([^"]*)" id="field-{name}">', page)
    return match.group(1) if match else None


def shown(page: str) -> set[str]:
    """The kind-dependent fields shown (with JavaScript: not marked kind-off)."""
    names = ["unit", "start", "target", "threshold_op", "threshold_low"]
    names += ["threshold_high", "kpi"]
    return {
        n
        for n in names
        if (cls := field_class(page, n)) is not None and "kind-off" not in cls
    }


@pytest.fixture
def metric(key_results) -> KeyResult:
    return key_results[0]


@pytest.fixture
def threshold(key_results) -> KeyResult:
    return key_results[1]


@pytest.fixture
def dora(org) -> User:
    """A member of the Marketing team only."""
    user = org_actions.create_member(
        org=org,
        email="dora@acme.test",
        role=Membership.Role.MEMBER,
        full_name="Dora Diaz",
        password="x",
    ).user
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    marketing = org_actions.create_team(
        org=org, name="Marketing", kind=Team.Kind.DEPARTMENT, parent=root
    )
    org_actions.set_team_members(team=marketing, members=[user], leads=[])
    return user


@pytest.fixture
def kpis(org, sales, bob) -> dict[str, KPI]:
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    return {
        "revenue": kpi_actions.create_kpi(org=org, name="Revenue", unit="$"),
        "churn": kpi_actions.create_kpi(org=org, name="Churn rate", unit="%"),
        "pipeline": kpi_actions.create_kpi(
            org=org, name="Sales pipeline (secret)", team=sales, visibility="private"
        ),
        "old": kpi_actions.create_kpi(org=org, name="Revenue (old)", archived=True),
    }


# The key result form: the fields of its kind


@pytest.mark.parametrize(
    ("kind", "op", "fields"),
    [
        ("metric", "", {"unit", "start", "target", "kpi"}),
        (
            "threshold",
            "",
            {"unit", "threshold_op", "threshold_low", "threshold_high", "kpi"},
        ),
        ("threshold", "at_least", {"unit", "threshold_op", "threshold_low", "kpi"}),
        ("threshold", "at_most", {"unit", "threshold_op", "threshold_high", "kpi"}),
        (
            "threshold",
            "between",
            {"unit", "threshold_op", "threshold_low", "threshold_high", "kpi"},
        ),
        ("milestone", "", set()),
    ],
)
def test_changing_the_kind_shows_the_fields_that_kind_uses(
    bob_client, objective, kind, op, fields
):
    url = reverse("key_result_create", args=[objective.pk])

    block = html(
        bob_client.get(url, {"kind": kind, "threshold_op": op, "start": "7"}, **HX)
    )

    assert block.lstrip().startswith('<div id="kr-kind-block"')
    assert shown(block) == fields
    assert f'value="{kind}" checked' in block.replace("required ", "").replace(
        ' id="id_kind_0"', ""
    ).replace(' id="id_kind_1"', "").replace(' id="id_kind_2"', "")
    # What was typed stays, shown or not (it is cleared only when saved).
    assert 'name="start" value="7"' in block
    assert "This field is required" not in block


def test_the_edit_form_opens_with_the_fields_of_the_key_results_kind(
    bob_client, threshold, metric
):
    at_least = html(bob_client.get(reverse("key_result_edit", args=[threshold.pk])))
    from_start = html(bob_client.get(reverse("key_result_edit", args=[metric.pk])))

    assert shown(at_least) == {"unit", "threshold_op", "threshold_low", "kpi"}
    assert shown(from_start) == {"unit", "start", "target", "kpi"}
    # Without JavaScript every field shows, with a hint saying which kind uses it.
    assert "<noscript><style>.kind-off, .kind-hint" in at_least
    assert "For metrics only." in at_least


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"kind": "metric", "start": "10", "target": ""},
            "target",
            "Enter the value you aim for.",
        ),
        ({"kind": "metric", "start": "abc", "target": "5"}, "start", "number"),
        (
            {"kind": "threshold", "threshold_op": "at_most"},
            "threshold_high",
            "Enter the highest acceptable value.",
        ),
        (
            {
                "kind": "threshold",
                "threshold_op": "between",
                "threshold_low": "9",
                "threshold_high": "3",
            },
            "threshold_high",
            "at least the lowest",
        ),
        (
            {"kind": "threshold", "threshold_op": ""},
            "threshold_op",
            "Choose how the value must stay",
        ),
    ],
)
def test_the_fields_a_kind_uses_are_checked_next_to_them(
    bob_client, objective, data, field, message
):
    before = db_state()
    body = {**kr_form(KeyResult(title="Measured", weight=D(1))), **data}

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), body)

    assert response.status_code == 200
    assert message in field_error(html(response), field)
    assert db_state() == before


def test_fields_a_kind_does_not_use_are_ignored_and_cleared(bob_client, objective):
    body = kr_form(
        KeyResult(title="Stay above 95", weight=D(1)),
        kind="threshold",
        threshold_op="at_least",
        threshold_low="95",
        threshold_high="not a number",  # not used by "at or above": ignored
        start="12",
        target="40",
        unit="%",
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), body)

    assert response.status_code == 302
    kr = objective.key_results.get()
    assert (kr.kind, kr.threshold_op, kr.threshold_low, kr.unit) == (
        "threshold",
        "at_least",
        95,
        "%",
    )
    assert (kr.threshold_high, kr.start, kr.target) == (None, None, None)


def test_turning_a_metric_into_a_threshold_clears_its_start_and_target(
    bob_client, metric
):
    body = kr_form(metric, kind="threshold", threshold_op="at_most", threshold_high="3")

    response = bob_client.post(reverse("key_result_edit", args=[metric.pk]), body)

    assert response.status_code == 302
    metric.refresh_from_db()
    assert (metric.kind, metric.threshold_op, metric.threshold_high) == (
        "threshold",
        "at_most",
        3,
    )
    assert (metric.start, metric.target, metric.threshold_low) == (None, None, None)


def test_a_key_result_tracks_a_kpi_picked_in_the_form(bob_client, objective, kpis):
    body = kr_form(
        KeyResult(title="Grow revenue", weight=D(1)),
        kind="metric",
        start="100",
        target="200",
        kpi=kpis["revenue"].pk,
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), body)

    assert response.status_code == 302
    assert objective.key_results.get().kpi == kpis["revenue"]


def test_a_milestone_does_not_track_a_kpi(bob_client, objective, kpis):
    body = kr_form(
        KeyResult(title="Ship it", weight=D(1)),
        kind="milestone",
        kpi=kpis["revenue"].pk,
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), body)

    assert response.status_code == 302
    assert objective.key_results.get().kpi is None


# The objective form: the essentials, then "More"


def more_block(page: str) -> str:
    start = page.index('<details class="more-fields"')
    return page[start : page.index("</details>", start)]


def test_the_objective_form_leads_with_the_essentials(bob_client, period):
    page = html(bob_client.get(reverse("objective_create")))

    more = more_block(page)
    before_more = page[: page.index('<details class="more-fields"')]
    for name in ("title", "owner", "team", "period"):
        assert f'id="field-{name}"' in before_more
    for name in ("description", "level", "parent", "type", "commitment"):
        assert f'id="field-{name}"' in more
    for name in ("visibility", "state", "include_children", "kpis"):
        assert f'id="field-{name}"' in more
    assert more.startswith('<details class="more-fields" id="objective-more">')


def test_more_opens_for_a_value_other_than_the_default(bob_client, objective):
    actions.update_objective(objective=objective, state=Objective.State.DRAFT)

    page = html(bob_client.get(reverse("objective_edit", args=[objective.pk])))

    assert more_block(page).startswith(
        '<details class="more-fields" id="objective-more" open>'
    )


def test_more_opens_for_an_error_inside(bob_client, org, period, objective, bob):
    child = actions.create_objective(
        org=org, period=period, owner=bob, title="Child", parent=objective
    )
    from landmark.okrs.tests.test_views import objective_form

    response = bob_client.post(
        reverse("objective_edit", args=[objective.pk]),
        objective_form(objective, parent=child.pk),
    )

    more = more_block(html(response))
    assert more.startswith('<details class="more-fields" id="objective-more" open>')
    assert "cannot be aligned under itself" in more


# The KPI picker


def picker(client, q: str = "", field: str = "kpis", chosen: Sequence[int] = ()) -> str:
    params: dict[str, Any] = {"field": field, f"{field}_q": q, field: list(chosen)}
    return html(client.get(reverse("kpi_picker"), params, **HX))


def test_the_picker_filters_the_kpis_by_name(bob_client, kpis):
    page = picker(bob_client, "rev")

    assert "Revenue" in page
    assert "Churn rate" not in page
    assert "Revenue (old)" not in page  # archived


def test_the_picker_keeps_the_chosen_kpis_checked(bob_client, kpis):
    page = picker(bob_client, "churn", chosen=[kpis["revenue"].pk])

    assert f'name="kpis" value="{kpis["revenue"].pk}" checked' in page
    assert f'name="kpis" value="{kpis["churn"].pk}">' in page


def test_the_picker_never_offers_a_private_kpi_of_another_team(bob_client, dora, kpis):
    outsider = login(dora)

    assert "Sales pipeline (secret)" in picker(bob_client, "pipeline")
    assert "Sales pipeline (secret)" not in picker(outsider, "pipeline")
    assert "Sales pipeline (secret)" not in picker(
        outsider, "", chosen=[kpis["pipeline"].pk]
    )
    assert "Sales pipeline (secret)" not in html(
        outsider.get(reverse("objective_create"))
    )


def test_a_hidden_kpi_sent_to_the_objective_form_is_refused(dora, period, kpis):
    before = db_state()
    from landmark.okrs.tests.test_views import objective_form

    body = objective_form(
        Objective(period=period, owner=dora, title="Mine"),
        level="personal",
        kpis=[kpis["pipeline"].pk],
    )
    response = login(dora).post(reverse("objective_create"), body)

    assert response.status_code == 200
    assert "Select a valid choice" in field_error(html(response), "kpis")
    assert db_state() == before


def test_the_picker_shows_a_page_of_matches_with_constant_queries(
    bob_client, org, kpis
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = picker(bob_client, "metric", chosen=[kpis["revenue"].pk])
        assert "Revenue" in page
        return len(queries)

    few = count()
    for n in range(PICK_LIMIT + 15):
        kpi_actions.create_kpi(org=org, name=f"Metric {n:03}")
    many = count()
    page = picker(bob_client, "metric")

    assert few == many
    assert page.count('name="kpis"') == PICK_LIMIT
    assert "More KPIs match" in page


def test_objectives_link_kpis_picked_in_the_form(bob_client, objective, kpis):
    from landmark.okrs.tests.test_views import objective_form

    body = objective_form(objective, kpis=[kpis["revenue"].pk, kpis["churn"].pk])

    response = bob_client.post(reverse("objective_edit", args=[objective.pk]), body)

    assert response.status_code == 302
    linked = set(
        ObjectiveKPI.objects.filter(objective=objective).values_list(
            "kpi_id", flat=True
        )
    )
    assert linked == {kpis["revenue"].pk, kpis["churn"].pk}


def test_find_without_javascript_shows_the_form_again_unsaved(
    bob_client, objective, kpis
):
    from landmark.okrs.tests.test_views import objective_form

    before = db_state()
    body = objective_form(
        objective, title="Typed, not saved", _pick="kpis", kpis_q="churn"
    )

    response = bob_client.post(reverse("objective_edit", args=[objective.pk]), body)

    page = html(response)
    assert response.status_code == 200
    assert 'value="Typed, not saved"' in page
    assert "Churn rate" in page and ">Revenue<" not in page
    assert db_state() == before


# Activate


@pytest.fixture
def draft(objective) -> Objective:
    return actions.update_objective(objective=objective, state=Objective.State.DRAFT)


def test_activate_turns_a_draft_active_in_one_click_and_records_it(
    bob_client, draft, bob, period
):
    tree = html(bob_client.get(reverse("tree"), {"period": period.pk}))
    page = html(bob_client.get(reverse("objective", args=[draft.pk])))
    assert f'action="{reverse("objective_activate", args=[draft.pk])}"' in tree
    assert f'action="{reverse("objective_activate", args=[draft.pk])}"' in page

    response = bob_client.post(reverse("objective_activate", args=[draft.pk]))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == Objective.State.ACTIVE
    last = draft.history.order_by("-history_id").first()
    assert last is not None and last.state == "active" and last.history_user == bob
    after = html(bob_client.get(reverse("objective", args=[draft.pk])))
    assert reverse("objective_activate", args=[draft.pk]) not in after


def test_activate_goes_back_to_the_tree_it_came_from(bob_client, draft, period):
    back = f"{reverse('tree')}?period={period.pk}"

    response = bob_client.post(
        reverse("objective_activate", args=[draft.pk]), {"next": back}
    )

    assert response["Location"] == back


def test_activate_leaves_an_objective_that_is_not_a_draft(bob_client, objective):
    before = db_state()

    response = bob_client.post(
        reverse("objective_activate", args=[objective.pk]), follow=True
    )

    assert "Only a draft can be activated" in html(response)
    assert db_state() == before


def test_activate_is_refused_to_whoever_may_not_edit(
    viewer_client, charlie_client, draft, period
):
    before = db_state()

    assert (
        viewer_client.post(reverse("objective_activate", args=[draft.pk])).status_code
        == 403
    )
    assert (
        charlie_client.post(reverse("objective_activate", args=[draft.pk])).status_code
        == 404
    )
    assert db_state() == before
    tree = html(viewer_client.get(reverse("tree"), {"period": period.pk}))
    assert reverse("objective_activate", args=[draft.pk]) not in tree
