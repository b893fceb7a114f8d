"""OKR pages through HTTP: what they show, and every write's guard rails.

Each state-changing view works and the database shows it, refuses GET when it is
POST-only, refuses a viewer (403, nothing changes) and hides another organization's
objects (404, nothing changes). Progress numbers follow docs/okrs.md ("How progress is
computed").
"""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import login
from landmark.lib import numbers
from landmark.okrs import actions
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    Period,
)
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Team, TeamMember, User

D = Decimal
ON_TRACK = KeyResult.Status.ON_TRACK
OFF_TRACK = KeyResult.Status.OFF_TRACK
MODELS = [Period, Objective, KeyResult, CheckIn, Initiative, Kudos, Team, TeamMember]


# Helpers


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every OKR and team row: equal before and after means nothing was written."""
    return {
        m.__name__: list(m._default_manager.order_by("pk").values()) for m in MODELS
    }


def html(response) -> str:
    return response.content.decode()


def kr_row(page: str, kr: KeyResult) -> str:
    """The markup of one key result's row (objective page or htmx fragment)."""
    start = page.index(f'id="kr-{kr.pk}"')
    return page[start : page.index("</li>", start)]


def between(page: str, start: str, end: str) -> str:
    first = page.index(start)
    return page[first : page.index(end, first)]


def field_error(page: str, field: str) -> str:
    """The error text shown next to one form field ("" when it has none)."""
    start = page.find(f'id="field-{field}"')
    if start == -1:
        return ""
    end = page.find('<div class="field', start)
    block = page[start : end if end != -1 else len(page)]
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S))


def checkin(key_result: KeyResult, author: User, value: str | None = None, **kw: Any):
    return actions.record_checkin(
        key_result=key_result,
        author=author,
        status=kw.pop("status", ON_TRACK),
        value=None if value is None else D(value),
        **kw,
    )


def objective_form(objective: Objective, **changes: Any) -> dict[str, Any]:
    data = {
        "title": objective.title,
        "description": objective.description,
        "period": objective.period_id,
        "level": objective.level,
        "team": objective.team_id or "",
        "owner": objective.owner_id,
        "parent": objective.parent_id or "",
        "type": objective.type,
        "commitment": objective.commitment,
        "visibility": objective.visibility,
        "state": objective.state,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def kr_form(key_result: KeyResult, **changes: Any) -> dict[str, Any]:
    data = {
        "title": key_result.title,
        "kind": key_result.kind,
        "owner": key_result.owner_id or "",
        "unit": key_result.unit,
        "start": "" if key_result.start is None else key_result.start,
        "target": "" if key_result.target is None else key_result.target,
        "threshold_op": key_result.threshold_op,
        "threshold_low": key_result.threshold_low or "",
        "threshold_high": key_result.threshold_high or "",
        "weight": key_result.weight,
        "due_date": "",
    }
    data.update(changes)
    return data


# Local fixtures


@pytest.fixture
def metric(key_results) -> KeyResult:
    return key_results[0]


@pytest.fixture
def threshold(key_results) -> KeyResult:
    return key_results[1]


@pytest.fixture
def milestone(key_results) -> KeyResult:
    return key_results[2]


@pytest.fixture
def initiative(metric, bob) -> Initiative:
    return actions.create_initiative(
        key_result=metric, title="Mid-market webinar series", owner=bob
    )


@pytest.fixture
def marketing(org) -> Team:
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    return org_actions.create_team(
        org=org, name="Marketing", kind=Team.Kind.DEPARTMENT, parent=root
    )


@pytest.fixture
def dora(org) -> User:
    """A member who is in no team."""
    return org_actions.create_member(
        org=org,
        email="dora@acme.test",
        role=Membership.Role.MEMBER,
        full_name="Dora Diaz",
        password="x",
    ).user


@pytest.fixture
def next_period(org, period) -> Period:
    return actions.create_period(
        org=org,
        name="Next quarter",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )


@pytest.fixture
def midway(org) -> Period:
    """An active period two thirds through, so pace is deterministic: τ ≈ 0.67."""
    today = timezone.localdate()
    return actions.create_period(
        org=org,
        name="Midway",
        kind=Period.Kind.CUSTOM,
        start=today - timedelta(days=60),
        end=today + timedelta(days=29),
        state=Period.State.ACTIVE,
    )


# Anonymous visitors


@pytest.mark.parametrize("path", ["/", "/okrs/", "/periods/", "/objectives/new/"])
def test_it_sends_an_anonymous_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={path}"


def test_it_sends_an_anonymous_visitor_of_an_objective_to_the_login_page(
    client, objective
):
    response = client.get(reverse("objective", args=[objective.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The OKR tree


def test_it_shows_each_objective_with_its_weighted_progress_in_the_tree(
    bob_client, period, objective, metric, threshold, bob
):
    checkin(metric, bob, "7")  # 140 % raw, 100 % in the roll-up
    checkin(threshold, bob, "96")  # holds: 100 %
    # Milestone not done: 0 %. Objective: (1 + 1 + 0) / 3 = 67 %.

    response = bob_client.get(reverse("tree"), {"period": period.pk})

    assert response.status_code == 200
    page = html(response)
    node = between(page, f'data-objective="{objective.pk}"', "</summary>")
    assert objective.title in node
    assert '<span class="pct">67%</span>' in node
    assert "average progress <strong>67%</strong>" in page
    krs = between(page, '<ul class="krs">', "</ul>")
    assert "140%" in krs  # the key result itself shows its honest overshoot


def test_it_shows_no_key_results_yet_instead_of_zero_percent(
    bob_client, period, objective
):
    response = bob_client.get(reverse("tree"), {"period": period.pk})

    node = between(html(response), f'data-objective="{objective.pk}"', "</li>")
    assert '<span class="pct">—</span>' in node
    assert "No key results yet" in node
    head = between(node, '<div class="node-head">', "<details")
    assert "0%" not in head.replace("width: 0%", "")


def test_it_filters_the_tree_by_team(
    bob_client, org, period, objective, marketing, alice
):
    other = actions.create_objective(
        org=org, period=period, owner=alice, title="Fill the funnel", team=marketing
    )

    by_sales = html(
        bob_client.get(
            reverse("tree"), {"period": period.pk, "team": objective.team_id}
        )
    )
    by_marketing = html(
        bob_client.get(reverse("tree"), {"period": period.pk, "team": marketing.pk})
    )

    assert objective.title in by_sales and other.title not in by_sales
    assert other.title in by_marketing and objective.title not in by_marketing


def test_it_includes_sub_teams_when_filtering_by_a_department(
    bob_client, org, period, sales, alice
):
    smb = org_actions.create_team(org=org, name="SMB sales", parent=sales)
    objective = actions.create_objective(
        org=org, period=period, owner=alice, title="Win small shops", team=smb
    )

    page = html(
        bob_client.get(reverse("tree"), {"period": period.pk, "team": sales.pk})
    )

    assert objective.title in page


def test_it_filters_the_tree_by_owner(bob_client, org, period, objective, alice, bob):
    alices = actions.create_objective(
        org=org, period=period, owner=alice, title="Alice bets on partners"
    )

    page = html(
        bob_client.get(reverse("tree"), {"period": period.pk, "owner": alice.pk})
    )

    assert alices.title in page
    assert objective.title not in page


def test_it_filters_the_tree_by_computed_status(bob_client, org, midway, bob):
    done = actions.create_objective(
        org=org, period=midway, owner=bob, title="Ship the launch"
    )
    launch = actions.create_key_result(
        objective=done, title="Launch", kind=KeyResult.Kind.MILESTONE
    )
    checkin(launch, bob, done=True)
    behind = actions.create_objective(
        org=org, period=midway, owner=bob, title="Grow usage"
    )
    usage = actions.create_key_result(
        objective=behind,
        title="Weekly users",
        start=D(0),
        target=D(100),
        start_date=midway.start,  # tracked since the period began
    )
    checkin(usage, bob, "5")  # 5 % two thirds through: off track

    on_track = html(
        bob_client.get(reverse("tree"), {"period": midway.pk, "status": "on_track"})
    )
    off_track = html(
        bob_client.get(reverse("tree"), {"period": midway.pk, "status": "off_track"})
    )

    assert done.title in on_track and behind.title not in on_track
    assert behind.title in off_track and done.title not in off_track


def test_it_shows_the_current_period_by_default(
    bob_client, period, objective, next_period
):
    response = bob_client.get(reverse("tree"))

    assert response.context["period"] == period
    assert objective.title in html(response)


def test_it_answers_404_for_another_organizations_period_or_team_in_the_tree(
    charlie_client, period, sales
):
    assert charlie_client.get(reverse("tree"), {"period": period.pk}).status_code == 404
    assert charlie_client.get(reverse("tree"), {"team": sales.pk}).status_code == 404


def test_it_never_shows_another_organizations_objectives_in_the_tree(
    bob_client, period, objective, other_objective
):
    page = html(bob_client.get(reverse("tree"), {"period": period.pk}))

    assert objective.title in page
    assert other_objective.title not in page


# The objective page


def test_it_shows_honest_negative_progress_for_a_decreasing_key_result_going_the_wrong_way(
    bob_client, objective, bob
):
    churn = actions.create_key_result(
        objective=objective,
        title="Cut monthly churn",
        start=D(10),
        target=D(5),
        unit="%",
    )
    checkin(churn, bob, "12")  # (12 − 10) / (5 − 10) = −40 %

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    row = kr_row(page, churn)
    assert '<strong class="kr-progress negative">40% below start</strong>' in row
    assert "12%" in row  # current value with its unit
    assert 'aria-valuenow="0"' in row  # the bar itself is clamped


def test_it_shows_overshoot_above_100_percent_and_clamps_it_in_the_objective(
    bob_client, objective, metric, bob
):
    checkin(metric, bob, "7")

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    assert '<strong class="kr-progress ">140%</strong>' in kr_row(page, metric)
    # (1 + 0 + 0) / 3: the overshoot counts as 100 % in the roll-up.
    assert '<strong id="objective-progress">33%</strong>' in page


def test_it_shows_the_expected_value_by_now(bob_client, objective, period):
    kr = actions.create_key_result(
        objective=objective, title="Demos", start=D(100), target=D(200)
    )

    before = numbers.amount(kr.expected_value(period), kr.unit, "en_US")
    page = html(bob_client.get(reverse("objective", args=[objective.pk])))
    after = numbers.amount(kr.expected_value(period), kr.unit, "en_US")

    row = kr_row(page, kr)
    shown = re.search(r"Expected now</span>([^<]*)</div>", row)
    assert shown is not None
    assert shown[1] in {before, after}
    assert D(100) <= D(shown[1]) <= D(200)


def test_it_shows_the_owners_status_beside_the_computed_pace(
    bob_client, objective, metric, bob
):
    checkin(
        metric, bob, "5", status=OFF_TRACK, confidence=3
    )  # done, yet the owner worries

    row = kr_row(
        html(bob_client.get(reverse("objective", args=[objective.pk]))), metric
    )

    computed = between(row, "Computed pace", "</div>")
    owner_says = between(row, "Owner says", "</div>")
    assert '<span class="status on_track">On track</span>' in computed
    assert '<span class="status off_track">Off track</span>' in owner_says
    assert "confidence 3/10" in owner_says


def test_it_lists_the_check_in_history_with_its_author(
    bob_client, objective, metric, milestone, alice, bob
):
    checkin(metric, bob, "2", moved="Two pilots signed")
    checkin(milestone, alice, done=True, blocks="Legal review")

    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    history = between(page, 'id="checkin-history"', "</table>")
    rows = re.findall(r"<tr><td.*?</tr>", history, re.S)
    assert len(rows) == 2
    assert "Alice Adams" in rows[0] and "Done" in rows[0] and "Legal review" in rows[0]
    assert (
        "Bob Brown" in rows[1]
        and ">2 customers<" in rows[1]
        and "Two pilots signed" in rows[1]
    )


def test_it_shows_how_often_a_threshold_held(bob_client, objective, threshold, bob):
    checkin(threshold, bob, "96")
    checkin(threshold, bob, "93")
    checkin(threshold, bob, "97")

    row = kr_row(
        html(bob_client.get(reverse("objective", args=[objective.pk]))), threshold
    )

    assert "2 of 3 check-ins" in row


def test_it_answers_404_for_another_organizations_objective(charlie_client, objective):
    response = charlie_client.get(reverse("objective", args=[objective.pk]))

    assert response.status_code == 404


def test_it_hides_the_write_controls_from_a_viewer(viewer_client, objective, metric):
    page = html(viewer_client.get(reverse("objective", args=[objective.pk])))

    assert metric.title in page
    assert reverse("key_result_checkin", args=[metric.pk]) not in page
    assert reverse("objective_edit", args=[objective.pk]) not in page


# Private objectives


@pytest.fixture
def secret(org, period, alice, bob, sales) -> Objective:
    """A private objective of the Sales team (bob is in it), owned by alice."""
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    objective = actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Acquire the competitor quietly",
        team=sales,
        visibility=Objective.Visibility.PRIVATE,
    )
    actions.create_key_result(
        objective=objective, title="Sign the term sheet", kind="milestone"
    )
    return objective


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_shows_a_private_objective_to_its_owner_team_and_admins(
    request, who, secret, period
):
    client = login(request.getfixturevalue(who))

    detail = client.get(reverse("objective", args=[secret.pk]))
    page = html(client.get(reverse("tree"), {"period": period.pk}))

    assert detail.status_code == 200
    assert secret.title in page


def test_it_shows_a_private_objective_to_its_owner_outside_the_team(
    org, period, dora, sales
):
    mine = actions.create_objective(
        org=org,
        period=period,
        owner=dora,
        title="Dora private bet",
        team=sales,
        visibility=Objective.Visibility.PRIVATE,
    )

    assert login(dora).get(reverse("objective", args=[mine.pk])).status_code == 200


def test_it_hides_a_private_objective_from_a_member_outside_its_team(
    secret, period, dora
):
    client = login(dora)
    kr = secret.key_results.get()
    before = db_state()

    detail = client.get(reverse("objective", args=[secret.pk]))
    tree_page = html(client.get(reverse("tree"), {"period": period.pk}))
    post = client.post(
        reverse("key_result_checkin", args=[kr.pk]),
        {"status": "on_track", "done": "yes"},
    )

    assert detail.status_code == 404
    assert secret.title not in tree_page
    assert post.status_code == 404
    assert db_state() == before


def test_it_does_not_reveal_a_private_objective_in_the_aligned_to_choices(secret, dora):
    page = html(login(dora).get(reverse("objective_create")))

    assert secret.title not in page


# My focus


def test_it_lists_key_results_that_need_a_check_in_this_week(
    bob_client, objective, key_results, bob
):
    metric, threshold, milestone = key_results
    checkin(metric, bob, "2")

    page = html(bob_client.get(reverse("focus")))

    due = between(page, "Needs your check-in", "Already checked in this week")
    assert '<span class="count">2</span>' in due
    assert threshold.title in due and milestone.title in due
    assert metric.title not in due
    assert metric.title in between(page, "Already checked in this week", "</p>")


def test_it_lists_a_key_result_without_a_recent_check_in_as_stale(
    bob_client, metric, bob
):
    checkin(metric, bob, "2", at=timezone.now() - timedelta(days=20))

    page = html(bob_client.get(reverse("focus")))

    due = between(page, "Needs your check-in", "My objectives")
    assert metric.title in due
    assert "Stale: no check-in for too long" in due


def test_it_shows_my_objectives_and_my_teams_recent_check_ins(
    bob_client, org, objective, metric, alice, bob, sales
):
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    checkin(metric, alice, "3", moved="A big logo signed")

    page = html(bob_client.get(reverse("focus")))

    assert objective.title in between(page, "My objectives", "Recent check-ins")
    feed = page[page.index("Recent check-ins in my teams") :]
    assert (
        "Alice Adams" in feed and metric.title in feed and "A big logo signed" in feed
    )


def test_it_leaves_out_key_results_of_closed_periods_from_my_focus(
    bob_client, metric, objective, period
):
    Period.objects.filter(pk=period.pk).update(state=Period.State.CLOSED)

    page = html(bob_client.get(reverse("focus")))

    assert metric.title not in page
    assert "all caught up" in page


# Creating and editing objectives


def test_it_creates_an_objective(bob_client, period, sales, bob):
    data = objective_form(
        Objective(period=period, owner=bob, team=sales, title="Own the mid-market"),
        commitment="committed",
    )

    response = bob_client.post(reverse("objective_create"), data)

    objective = Objective.objects.get(title="Own the mid-market")
    assert response.status_code == 302
    assert response["Location"] == reverse("objective", args=[objective.pk])
    assert (objective.period, objective.owner, objective.team) == (period, bob, sales)
    assert objective.commitment == Objective.Commitment.COMMITTED


def test_it_shows_the_objective_form_with_the_current_period(bob_client, period):
    response = bob_client.get(reverse("objective_create"))

    assert response.status_code == 200
    assert response.context["form"].initial["period"] == period.pk


def test_it_asks_a_team_objective_for_its_team(bob_client, period, bob):
    before = db_state()
    data = objective_form(
        Objective(period=period, owner=bob, title="Teamless"), level="team"
    )

    response = bob_client.post(reverse("objective_create"), data)

    assert response.status_code == 200
    assert "A team objective needs its team." in field_error(html(response), "team")
    assert db_state() == before


def test_it_refuses_another_organizations_period_in_the_objective_form(
    charlie_client, period, charlie
):
    before = db_state()
    data = objective_form(
        Objective(period=period, owner=charlie, title="Sneaky"), level="company"
    )

    response = charlie_client.post(reverse("objective_create"), data)

    assert response.status_code == 200
    assert field_error(html(response), "period")
    assert db_state() == before


def test_it_edits_an_objective(bob_client, objective):
    data = objective_form(
        objective, title="Be the mid-market default", description="Why: margin"
    )

    response = bob_client.post(reverse("objective_edit", args=[objective.pk]), data)

    assert response.status_code == 302
    objective.refresh_from_db()
    assert objective.title == "Be the mid-market default"
    assert objective.description == "Why: margin"


def test_it_refuses_to_align_an_objective_under_its_own_child(
    bob_client, org, period, objective, bob
):
    child = actions.create_objective(
        org=org, period=period, owner=bob, title="Child", parent=objective
    )
    before = db_state()

    response = bob_client.post(
        reverse("objective_edit", args=[objective.pk]),
        objective_form(objective, parent=child.pk),
    )

    assert response.status_code == 200
    assert "cannot be aligned under itself" in field_error(html(response), "parent")
    assert db_state() == before


# Key results


def test_it_adds_a_metric_key_result(bob_client, objective, alice):
    data = kr_form(
        KeyResult(
            title="Reach 40 NPS",
            kind="metric",
            owner=alice,
            start=D(20),
            target=D(40),
            weight=D(2),
        )
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("objective", args=[objective.pk])
    kr = objective.key_results.get()
    assert (kr.title, kr.start, kr.target, kr.weight, kr.owner) == (
        "Reach 40 NPS",
        20,
        40,
        2,
        alice,
    )


def test_it_goes_back_to_the_form_to_add_another_key_result(bob_client, objective):
    data = kr_form(
        KeyResult(title="Ship it", kind="milestone", weight=D(1)), add_another="1"
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response["Location"] == reverse("key_result_create", args=[objective.pk])
    assert objective.key_results.get().owner == objective.owner


def test_it_suggests_a_threshold_when_a_metric_starts_at_its_target(
    bob_client, objective
):
    before = db_state()
    data = kr_form(
        KeyResult(
            title="Keep NPS at 40",
            kind="metric",
            start=D(40),
            target=D(40),
            weight=D(1),
        )
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert response.status_code == 200
    assert "use a threshold key result instead" in field_error(html(response), "target")
    assert db_state() == before


def test_it_asks_a_threshold_key_result_for_its_bound(bob_client, objective):
    before = db_state()
    data = kr_form(
        KeyResult(
            title="Uptime", kind="threshold", threshold_op="at_least", weight=D(1)
        )
    )

    response = bob_client.post(reverse("key_result_create", args=[objective.pk]), data)

    assert "Enter the lowest acceptable value." in field_error(
        html(response), "threshold_low"
    )
    assert db_state() == before


def test_it_edits_a_key_result(bob_client, metric):
    response = bob_client.post(
        reverse("key_result_edit", args=[metric.pk]), kr_form(metric, target="8")
    )

    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.target == 8


def test_it_refuses_an_edit_that_makes_start_equal_target(bob_client, metric):
    before = db_state()

    response = bob_client.post(
        reverse("key_result_edit", args=[metric.pk]), kr_form(metric, target="0")
    )

    assert response.status_code == 200
    assert "use a threshold key result instead" in field_error(html(response), "target")
    assert db_state() == before


# Check-ins


def test_it_records_a_check_in_and_goes_back_to_the_objective(
    bob_client, objective, metric, bob
):
    response = bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {
            "value": "3",
            "status": "needs_attention",
            "confidence": "6",
            "moved": "Three signed",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("objective", args=[objective.pk])
    saved = CheckIn.objects.get(key_result=metric)
    assert (saved.value, saved.author, saved.status, saved.confidence) == (
        3,
        bob,
        "needs_attention",
        6,
    )
    metric.refresh_from_db()
    assert metric.current == 3


def test_it_returns_the_key_result_fragment_with_the_new_progress_to_htmx(
    bob_client, metric
):
    response = bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {"value": "3", "status": "on_track"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    fragment = html(response)
    assert "<html" not in fragment
    assert fragment.lstrip().startswith(f'<li class="kr-row" id="kr-{metric.pk}"')
    assert '<strong class="kr-progress ">60%</strong>' in fragment
    assert "Check-in saved." in fragment
    assert CheckIn.objects.filter(key_result=metric).count() == 1


def test_it_returns_the_fragment_with_the_error_when_an_htmx_check_in_is_invalid(
    bob_client, metric
):
    response = bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {"value": "", "status": "on_track"},
        HTTP_HX_REQUEST="true",
    )

    fragment = html(response)
    assert response.status_code == 200
    assert '<details class="checkin" open>' in fragment
    assert field_error(fragment, "value")
    assert not CheckIn.objects.exists()


def test_it_saves_nothing_and_says_why_when_a_check_in_is_invalid(
    bob_client, objective, milestone
):
    response = bob_client.post(
        reverse("key_result_checkin", args=[milestone.pk]),
        {"status": "on_track"},
        follow=True,
    )

    assert "The check-in was not saved: Say whether the milestone is done." in html(
        response
    )
    assert not CheckIn.objects.exists()


def test_it_refuses_a_confidence_out_of_range(bob_client, metric):
    bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {"value": "1", "status": "on_track", "confidence": "11"},
    )

    assert not CheckIn.objects.exists()


def test_it_does_not_redirect_a_check_in_to_another_site(bob_client, metric):
    response = bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {"value": "1", "status": "on_track", "next": "https://evil.example/phish"},
    )

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_it_goes_back_to_the_page_the_check_in_came_from(bob_client, metric):
    response = bob_client.post(
        reverse("key_result_checkin", args=[metric.pk]),
        {"value": "1", "status": "on_track", "next": "/"},
    )

    assert response["Location"] == "/"


# Initiatives and kudos


def test_it_adds_an_initiative_to_a_key_result(bob_client, objective, metric, alice):
    data = {
        "title": "Partner program",
        "status": "in_progress",
        "url": "https://tickets.test/42",
        "owner": alice.pk,
    }

    response = bob_client.post(reverse("initiative_create", args=[metric.pk]), data)

    assert response["Location"] == reverse("objective", args=[objective.pk])
    initiative = Initiative.objects.get()
    assert (initiative.key_result, initiative.status, initiative.owner) == (
        metric,
        "in_progress",
        alice,
    )
    assert "Partner program" in html(bob_client.get(response["Location"]))


def test_it_edits_an_initiative(bob_client, initiative):
    data = {"title": initiative.title, "status": "blocked", "url": "", "owner": ""}

    response = bob_client.post(reverse("initiative_edit", args=[initiative.pk]), data)

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.status, initiative.owner) == ("blocked", None)


def test_it_refuses_an_initiative_link_that_is_not_a_url(bob_client, metric):
    data = {"title": "Thing", "status": "in_progress", "url": "not a url"}

    response = bob_client.post(reverse("initiative_create", args=[metric.pk]), data)

    assert field_error(html(response), "url")
    assert not Initiative.objects.exists()


def test_it_gives_kudos_on_an_objective(alice_client, objective, bob):
    response = alice_client.post(
        reverse("kudos_create", args=[objective.pk]),
        {"recipient": bob.pk, "message": "Great demo!"},
    )

    assert response.status_code == 302
    kudos = Kudos.objects.get()
    assert (kudos.recipient, kudos.objective, kudos.message) == (
        bob,
        objective,
        "Great demo!",
    )
    page = html(alice_client.get(response["Location"]))
    assert "Great demo!" in page


def test_it_does_not_let_someone_give_kudos_to_themselves(bob_client, objective, bob):
    response = bob_client.post(
        reverse("kudos_create", args=[objective.pk]),
        {"recipient": bob.pk, "message": "Me!"},
    )

    assert response.status_code == 400
    assert field_error(html(response), "recipient")
    assert not Kudos.objects.exists()


def test_it_does_not_send_kudos_to_someone_in_another_organization(
    bob_client, objective, charlie
):
    response = bob_client.post(
        reverse("kudos_create", args=[objective.pk]),
        {"recipient": charlie.pk, "message": "Hi"},
    )

    assert response.status_code == 400
    assert not Kudos.objects.exists()


# Every write: GET refused, viewer refused, other organization hidden


@pytest.fixture
def targets(objective, metric, initiative, period, bob) -> dict[str, Any]:
    """URL and a valid POST body for every OKR write view."""
    return {
        "objective_create": ((), objective_form(objective, title="New one")),
        "objective_edit": ((objective.pk,), objective_form(objective, title="Renamed")),
        "key_result_create": ((objective.pk,), kr_form(metric, title="Another")),
        "key_result_edit": ((metric.pk,), kr_form(metric, title="Renamed KR")),
        "key_result_checkin": ((metric.pk,), {"value": "4", "status": "on_track"}),
        "initiative_create": ((metric.pk,), {"title": "Do", "status": "not_started"}),
        "initiative_edit": ((initiative.pk,), {"title": "Redo", "status": "done"}),
        "kudos_create": ((objective.pk,), {"recipient": bob.pk, "message": "Thanks"}),
    }


OKR_WRITES = [
    "objective_create",
    "objective_edit",
    "key_result_create",
    "key_result_edit",
    "key_result_checkin",
    "initiative_create",
    "initiative_edit",
    "kudos_create",
]
POST_ONLY = ["key_result_checkin", "kudos_create"]


@pytest.mark.parametrize("name", OKR_WRITES)
def test_it_lets_a_member_make_every_okr_write(name, targets, alice_client, bob_client):
    args, data = targets[name]
    client = alice_client if name == "kudos_create" else bob_client
    before = db_state()

    response = client.post(reverse(name, args=args), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert db_state() != before


@pytest.mark.parametrize("name", POST_ONLY)
def test_it_refuses_get_on_a_post_only_okr_write(name, targets, bob_client):
    args, _ = targets[name]

    assert bob_client.get(reverse(name, args=args)).status_code == 405


@pytest.mark.parametrize("name", sorted(set(OKR_WRITES) - set(POST_ONLY)))
def test_it_shows_the_form_of_an_okr_write_on_get(name, targets, bob_client):
    args, _ = targets[name]

    response = bob_client.get(reverse(name, args=args))

    assert response.status_code == 200
    assert '<form method="post"' in html(response)


@pytest.mark.parametrize("name", OKR_WRITES)
def test_it_refuses_every_okr_write_to_a_viewer(name, targets, viewer_client):
    args, data = targets[name]
    before = db_state()

    response = viewer_client.post(reverse(name, args=args), data)

    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(set(OKR_WRITES) - {"objective_create"}))
def test_it_answers_404_to_another_organization_for_every_okr_write(
    name, targets, charlie_client
):
    args, data = targets[name]
    before = db_state()

    posted = charlie_client.post(reverse(name, args=args), data)
    fetched = charlie_client.get(reverse(name, args=args))

    assert posted.status_code == 404
    assert fetched.status_code in {404, 405}
    assert db_state() == before


# Periods


def test_it_lists_the_periods(bob_client, period, next_period):
    page = html(bob_client.get(reverse("periods")))

    assert period.name in page and next_period.name in page
    assert reverse("period_create") not in page  # only admins create periods


def test_it_creates_a_period(alice_client, org):
    data = {
        "name": "FY 2031",
        "kind": "year",
        "start": "2031-01-01",
        "end": "2031-12-31",
        "state": "planning",
    }

    response = alice_client.post(reverse("period_create"), data)

    assert response["Location"] == reverse("periods")
    period = Period.objects.get(name="FY 2031")
    assert (period.organization, period.kind, str(period.end)) == (
        org,
        "year",
        "2031-12-31",
    )


def test_it_refuses_a_period_that_ends_before_it_starts(alice_client):
    before = db_state()
    data = {
        "name": "Backwards",
        "kind": "custom",
        "start": "2031-03-01",
        "end": "2031-01-01",
        "state": "planning",
    }

    response = alice_client.post(reverse("period_create"), data)

    assert response.status_code == 200
    assert "must end on or after its first day" in field_error(html(response), "end")
    assert db_state() == before


def test_it_refuses_a_second_period_with_the_same_name(alice_client, period):
    before = db_state()
    data = {
        "name": period.name.lower(),
        "kind": "quarter",
        "start": "2031-01-01",
        "end": "2031-03-31",
        "state": "planning",
    }

    response = alice_client.post(reverse("period_create"), data)

    assert "already a period with this name" in field_error(html(response), "name")
    assert db_state() == before


def test_it_edits_a_period(alice_client, next_period):
    data = {
        "name": "Q-next",
        "kind": "quarter",
        "start": next_period.start,
        "end": next_period.end,
        "state": "planning",
    }

    response = alice_client.post(reverse("period_edit", args=[next_period.pk]), data)

    assert response.status_code == 302
    next_period.refresh_from_db()
    assert next_period.name == "Q-next"


def test_it_does_not_close_a_period_through_the_edit_form_without_grading(
    alice_client, period, objective, key_results
):
    data = {
        "name": period.name,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
        "state": "closed",
    }

    alice_client.post(reverse("period_edit", args=[period.pk]), data)

    period.refresh_from_db()
    objective.refresh_from_db()
    # Closing grades every objective (docs/okrs.md, "Closing a period"): the edit form
    # must not skip it.
    assert period.state != Period.State.CLOSED or objective.outcome != ""


def test_it_starts_a_planned_period(alice_client, next_period):
    response = alice_client.post(
        reverse("period_set_state", args=[next_period.pk]), {"state": "active"}
    )

    assert response["Location"] == reverse("periods")
    next_period.refresh_from_db()
    assert next_period.state == Period.State.ACTIVE


def test_it_refuses_an_impossible_period_transition(alice_client, next_period):
    response = alice_client.post(
        reverse("period_set_state", args=[next_period.pk]),
        {"state": "closed"},
        follow=True,
    )

    assert "cannot become closed" in html(response)
    next_period.refresh_from_db()
    assert next_period.state == Period.State.PLANNING


@pytest.fixture
def period_targets(next_period) -> dict[str, Any]:
    edit = {
        "name": "Renamed",
        "kind": "quarter",
        "start": next_period.start,
        "end": next_period.end,
        "state": "planning",
    }
    return {
        "period_create": ((), {**edit, "name": "Brand new"}),
        "period_edit": ((next_period.pk,), edit),
        "period_set_state": ((next_period.pk,), {"state": "active"}),
        "period_close": ((next_period.pk,), close_data([], retrospective="Done")),
    }


PERIOD_WRITES = ["period_create", "period_edit", "period_set_state", "period_close"]


@pytest.mark.parametrize("name", PERIOD_WRITES)
@pytest.mark.parametrize("who", ["bob", "viewer"])
def test_it_refuses_every_period_write_to_a_non_admin(
    request, who, name, period_targets
):
    args, data = period_targets[name]
    client = login(request.getfixturevalue(who))
    before = db_state()

    response = client.post(reverse(name, args=args), data)

    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(set(PERIOD_WRITES) - {"period_create"}))
def test_it_answers_404_to_another_organization_for_every_period_write(
    name, period_targets, charlie_client
):
    args, data = period_targets[name]
    before = db_state()

    assert charlie_client.post(reverse(name, args=args), data).status_code == 404
    assert db_state() == before


def test_it_refuses_get_on_the_period_state_change(alice_client, next_period):
    response = alice_client.get(reverse("period_set_state", args=[next_period.pk]))

    assert response.status_code == 405


@pytest.mark.parametrize("name", ["period_create", "period_edit"])
def test_it_shows_the_period_forms_to_an_admin_and_not_to_a_member(
    name, period_targets, alice_client, bob_client
):
    args, _ = period_targets[name]

    assert alice_client.get(reverse(name, args=args)).status_code == 200
    assert bob_client.get(reverse(name, args=args)).status_code == 403


# Closing a period


def close_data(rows: list[dict[str, Any]], **form: Any) -> dict[str, Any]:
    """The close page's POST body: the "grade" formset, one row per objective,
    closing early confirmed (the period covers today; confirm_early=None leaves the
    confirmation out)."""
    data: dict[str, Any] = {
        "confirm_early": "on",
        "grade-TOTAL_FORMS": str(len(rows)),
        "grade-INITIAL_FORMS": str(len(rows)),
        "grade-MIN_NUM_FORMS": "0",
        "grade-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        for key, value in row.items():
            if value is not False:
                data[f"grade-{n}-{key}"] = "on" if value is True else value
    data.update({k: v for k, v in form.items() if v is not None})
    if "confirm_early" in form and form["confirm_early"] is None:
        del data["confirm_early"]
    return data


@pytest.fixture
def graded(org, period, objective, key_results, bob) -> tuple[Objective, Objective]:
    """Two objectives to grade: scores 0.53 and 0.20."""
    metric, threshold, _ = key_results
    checkin(metric, bob, "3")  # 0.60
    checkin(threshold, bob, "96")  # 1.00; the milestone is 0.00 → (0.6 + 1 + 0) / 3
    second = actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Open the Berlin office",
        team=objective.team,
    )
    hires = actions.create_key_result(
        objective=second, title="Hire locally", start=D(0), target=D(10)
    )
    checkin(hires, bob, "2")  # 0.20
    return objective, second


def test_it_shows_computed_scores_on_the_close_page(alice_client, period, graded):
    first, second = graded

    response = alice_client.get(reverse("period_close", args=[period.pk]))

    page = html(response)
    assert response.status_code == 200
    assert '<strong class="score yellow">0.53</strong>' in between(
        page, f'id="grade-{first.pk}"', "</section>"
    )
    assert '<strong class="score red">0.20</strong>' in between(
        page, f'id="grade-{second.pk}"', "</section>"
    )


def test_it_closes_a_period_with_an_override_and_a_carry_over(
    alice_client, bob_client, period, next_period, graded, metric
):
    first, second = graded
    data = close_data(
        [
            {
                "objective": first.pk,
                "score_override": "0.8",
                "override_reason": "The pricing page slipped for legal reasons",
            },
            {
                "objective": second.pk,
                "carry_over": True,
                "retrospective": "Visa delays",
            },
        ],
        retrospective="A good quarter",
        carry_into=next_period.pk,
    )

    response = alice_client.post(reverse("period_close", args=[period.pk]), data)

    assert response.status_code == 302, html(response)
    period.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (period.state, period.retrospective) == (
        Period.State.CLOSED,
        "A good quarter",
    )
    assert (first.score, first.score_override, first.final_score) == (
        D("0.53"),
        D("0.80"),
        D("0.80"),
    )
    assert first.outcome == Objective.Outcome.ACHIEVED  # aspirational, 0.8 ≥ 0.7
    assert (second.score, second.outcome) == (D("0.20"), Objective.Outcome.CARRIED_OVER)
    assert second.retrospective == "Visa delays"
    assert [kr.score for kr in first.key_results.order_by("position")] == [
        D("0.60"),
        D("1.00"),
        D("0.00"),
    ]
    copy = Objective.objects.get(period=next_period)
    assert (copy.title, copy.carried_from, copy.state) == (
        second.title,
        second,
        Objective.State.DRAFT,
    )
    copied_kr = copy.key_results.get()
    assert (copied_kr.start, copied_kr.target) == (
        2,
        10,
    )  # restarts from where it ended

    review = html(alice_client.get(response["Location"]))
    assert (
        "0.80" in review
        and "(computed 0.53: The pricing page slipped for legal reasons)" in review
    )

    checkin_url = reverse("key_result_checkin", args=[metric.pk])
    assert (
        bob_client.post(checkin_url, {"value": "5", "status": "on_track"}).status_code
        == 403
    )
    assert bob_client.get(reverse("objective_edit", args=[first.pk])).status_code == 403
    assert (
        bob_client.get(reverse("key_result_create", args=[first.pk])).status_code == 403
    )
    assert CheckIn.objects.filter(key_result=metric).count() == 1


def test_it_asks_for_a_reason_when_a_score_is_overridden(alice_client, period, graded):
    first, second = graded
    before = db_state()
    data = close_data(
        [{"objective": first.pk, "score_override": "0.9"}, {"objective": second.pk}]
    )

    response = alice_client.post(reverse("period_close", args=[period.pk]), data)

    assert response.status_code == 200
    assert "Explain why you override" in field_error(
        html(response), "grade-0-override_reason"
    )
    assert db_state() == before


def test_it_asks_where_to_carry_objectives_over(alice_client, period, graded):
    first, second = graded
    before = db_state()

    response = alice_client.post(
        reverse("period_close", args=[period.pk]),
        close_data(
            [{"objective": first.pk}, {"objective": second.pk, "carry_over": True}]
        ),
    )

    assert response.status_code == 200
    assert "Choose the period to carry objectives over into." in field_error(
        html(response), "carry_into"
    )
    assert db_state() == before


def test_it_refuses_to_close_a_period_with_a_stale_grade_form(
    alice_client, org, period, graded, alice
):
    first, second = graded
    alice_client.get(reverse("period_close", args=[period.pk]))  # two rows on the page
    # Meanwhile someone adds a company objective; it sorts before the team ones.
    late = actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Late company bet",
        level=Objective.Level.COMPANY,
    )

    alice_client.post(
        reverse("period_close", args=[period.pk]),
        close_data(
            [
                {
                    "objective": first.pk,
                    "score_override": "0.8",
                    "override_reason": "Meant for the first objective",
                },
                {"objective": second.pk},
            ]
        ),
    )

    period.refresh_from_db()
    late.refresh_from_db()
    if period.state == Period.State.CLOSED:
        # Closing grades every objective, and each grade lands on its own objective.
        assert late.outcome != ""
        assert late.score_override is None
        first.refresh_from_db()
        assert first.score_override == D("0.80")
    else:
        assert not Objective.objects.filter(period=period).exclude(outcome="").exists()


def test_an_extra_empty_grade_row_is_refused_not_a_server_error(
    alice_client, period, graded
):
    first, second = graded
    data = close_data([{"objective": first.pk}, {"objective": second.pk}])
    data["grade-TOTAL_FORMS"] = "3"  # a third row, empty, beyond the two shown

    response = alice_client.post(reverse("period_close", args=[period.pk]), data)

    assert response.status_code == 200
    assert "The objectives of this period changed while you were grading" in html(
        response
    )
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE


def test_it_shows_the_review_of_a_closed_period_to_everyone(
    viewer_client, period, graded, alice
):
    actions.close_period(
        period=period,
        grades=[actions.Grade(objective=o) for o in graded],
        retrospective="Lessons",
        author=alice,
    )

    response = viewer_client.get(reverse("period_close", args=[period.pk]))

    page = html(response)
    assert response.status_code == 200
    assert "Lessons" in page
    grades = between(page, 'id="grades"', "</table>")
    assert "0.53" in grades and "Partially achieved" in grades and "Missed" in grades


def test_it_shows_a_member_the_review_page_instead_of_the_close_form(
    bob_client, period, graded
):
    response = bob_client.get(reverse("period_close", args=[period.pk]))

    assert response.status_code == 200
    assert 'id="grades"' in html(response)
    assert "grade-TOTAL_FORMS" not in html(response)


def test_it_refuses_to_close_a_closed_period_again(alice_client, period, graded, alice):
    actions.close_period(
        period=period, grades=[actions.Grade(objective=o) for o in graded], author=alice
    )
    before = db_state()

    response = alice_client.post(
        reverse("period_close", args=[period.pk]),
        close_data([{"objective": o.pk} for o in graded]),
    )

    assert response.status_code == 200  # the review page
    assert db_state() == before


def test_it_reopens_a_closed_period(alice_client, period, graded, alice):
    actions.close_period(
        period=period, grades=[actions.Grade(objective=o) for o in graded], author=alice
    )

    alice_client.post(
        reverse("period_set_state", args=[period.pk]), {"state": "active"}
    )

    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE
    assert not Objective.objects.filter(
        period=period, state=Objective.State.CLOSED
    ).exists()


# Clients that belong nowhere


def test_it_refuses_a_logged_in_user_without_an_organization(db):
    loner = User.objects.create_user("loner@nowhere.test", "pw")

    assert login(loner).get(reverse("focus")).status_code == 403


def test_it_keeps_a_deactivated_member_out(org, bob):
    org_actions.update_membership(
        membership=Membership.objects.get(user=bob, organization=org),
        role="member",
        is_active=False,
    )

    assert login(bob).get(reverse("tree")).status_code == 403


def test_kudos_stay_open_on_a_closed_period_while_its_okrs_are_read_only(
    alice_client, bob_client, period, graded, alice, bob, key_results
):
    """docs/permissions.md: kudos change no OKR data; a check-in would."""
    actions.close_period(
        period=period, grades=[actions.Grade(objective=o) for o in graded], author=alice
    )
    objective = graded[0]
    checkins = CheckIn.objects.count()

    response = alice_client.post(
        reverse("kudos_create", args=[objective.pk]),
        {"recipient": bob.pk, "message": "Thanks for unblocking the Midwest deals"},
    )
    assert response.status_code == 302
    assert Kudos.objects.filter(
        objective=objective, sender=alice, recipient=bob
    ).exists()

    response = bob_client.post(
        reverse("key_result_checkin", args=[key_results[0].pk]),
        {"value": "5", "status": "on_track", "confidence": "7"},
    )
    assert response.status_code == 403
    assert CheckIn.objects.count() == checkins
