"""The page, the API and the docs agree on progress without key results: an
objective that counts its aligned objectives shows their mean and their status, and
says where it comes from; a key result without data has no progress."""

from decimal import Decimal

import pytest
from django.urls import reverse

from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective

D = Decimal


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def midwest(org, period, alice, bob) -> Objective:
    """ "Win the Midwest" counts two aligned objectives at 60 % and 52 %: 56 %."""
    parent = actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Win the Midwest",
        level=Objective.Level.COMPANY,
        include_children=True,
    )
    for title, kr_title, target, value in [
        (
            "Increase Brand Awareness in the Midwest",
            "Sign 5 tier one accounts out of the top 20",
            5,
            3,
        ),
        ("Grow the Midwest pipeline", "Qualify 25 opportunities", 25, 13),
    ]:
        child = actions.create_objective(
            org=org,
            period=period,
            owner=bob,
            title=title,
            level=Objective.Level.COMPANY,
            parent=parent,
        )
        kr = actions.create_key_result(
            objective=child, title=kr_title, start=D(0), target=D(target)
        )
        actions.record_checkin(
            key_result=kr, author=bob, value=D(value), status="on_track"
        )
    return parent


def test_the_objective_page_shows_where_its_progress_comes_from(bob_client, midwest):
    page = html(bob_client.get(reverse("objective", args=[midwest.pk])))

    summary = page[page.index('id="objective-summary"') :]
    summary = summary[: summary.index("</section>")]
    assert '<strong id="objective-progress">56%</strong>' in summary
    assert "No key results yet" not in summary
    assert '<span class="status on_track" id="objective-status">On track' in summary
    assert "its progress is the mean of 2 aligned objectives" in summary


def test_the_tree_shows_it_too(bob_client, midwest, period):
    page = html(bob_client.get(reverse("tree"), {"period": period.pk}))

    node = page[page.index(f'data-objective="{midwest.pk}"') :]
    node = node[: node.index('<ul class="tree">')]
    assert '<span class="pct">56%</span>' in node
    assert "No key results yet" not in node
    assert "No key results of its own: progress from 2 aligned objectives" in node


def test_its_status_is_its_weakest_counted_objectives(bob_client, midwest, period, bob):
    behind = midwest.children.get(title="Grow the Midwest pipeline")
    kr = behind.key_results.get()
    KeyResult.objects.filter(pk=kr.pk).update(start_date=period.start)
    fresh = actions.create_objective(
        org=midwest.organization,
        period=period,
        owner=bob,
        title="Be featured in three midwest media outlets",
        parent=midwest,
        level=Objective.Level.COMPANY,
    )  # no key results: counts for nothing

    page = html(bob_client.get(reverse("objective", args=[midwest.pk])))

    expected = (
        "off_track"
        if 0.52 - period.time_share() < -0.25
        else "needs_attention"
        if 0.52 - period.time_share() < -0.10
        else "on_track"
    )
    assert f'<span class="status {expected}" id="objective-status">' in page
    assert "mean of 2 aligned objectives" in page
    assert fresh.title in page


def test_without_key_results_or_children_it_has_no_progress(bob_client, objective):
    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    assert '<strong id="objective-progress">No key results yet</strong>' in page
    assert "aligned objective" not in page[: page.index("Key results</h2>")]


def test_a_key_result_without_data_shows_no_progress(
    bob_client, objective, key_results
):
    metric, threshold, milestone = key_results
    decreasing = actions.create_key_result(
        objective=objective,
        title="Reduce incoming support tickets",
        start=D(1200),
        target=D(1000),
    )

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    for kr in (metric, threshold, decreasing):
        row = page[page.index(f'id="kr-{kr.pk}"') :]
        assert '<strong class="kr-progress ">—</strong>' in row[: row.index("</li>")]
    row = page[page.index(f'id="kr-{milestone.pk}"') :]
    # A milestone is done or not, never a percentage.
    assert '<strong class="kr-progress ">Not done</strong>' in row[: row.index("</li>")]
