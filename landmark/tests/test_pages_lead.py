"""Pages that lead with what matters (issue 15, item 5): the dashboard's "needs
attention" strip, KPI health on My focus, the objective page's order, activity as
sentences (filtered and paginated) and the close page's summary, errors and early
close warning."""

import re
from datetime import timedelta
from decimal import Decimal as D
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint
from landmark.notify import actions as notify_actions
from landmark.okrs import actions
from landmark.okrs.models import Objective, Period

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text(markup: str) -> str:
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())
    return words.replace(" ,", ",").replace(" :", ":")


def section(page: str, id_: str) -> str:
    start = page.index(f'id="{id_}"')
    return page[start : page.index("</section>", start)]


def unhealthy(org, name: str, **fields) -> KPI:
    kpi = kpi_actions.create_kpi(
        org=org, name=name, target_kind="at_most", target_high=D("30"), **fields
    )
    kpi_actions.record_data_point(kpi=kpi, value=D("52"))
    return kpi


def healthy(org, name: str, **fields) -> KPI:
    kpi = kpi_actions.create_kpi(
        org=org, name=name, target_kind="at_most", target_high=D("30"), **fields
    )
    kpi_actions.record_data_point(kpi=kpi, value=D("12"))
    return kpi


def stale(org, name: str) -> KPI:
    kpi = kpi_actions.create_kpi(
        org=org,
        name=name,
        frequency="weekly",
        target_kind="at_most",
        target_high=D("30"),
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("12"), time=timezone.now() - timedelta(days=120)
    )
    return kpi


# The dashboard's "needs attention" strip


def test_the_strip_lists_unhealthy_then_stale_kpis_and_nothing_healthy(bob_client, org):
    healthy(org, "Aaa uptime")
    stale(org, "Bbb signups")
    unhealthy(org, "Zzz response time")

    page = html(bob_client.get(reverse("kpi_dashboard")))
    strip = section(page, "needs-attention")

    assert page.index('id="needs-attention"') < page.index('class="kpi-group"')
    names = re.findall(r'<a href="/kpis/\d+/">([^<]+)</a>', strip)
    assert names == ["Zzz response time", "Bbb signups"]
    assert "Aaa uptime" not in strip
    assert 'class="status unhealthy">Unhealthy<' in strip
    assert 'class="status stale">Stale<' in strip
    assert "52" in text(strip)
    # A writer can fix the unhealthy one from the strip, not the stale one.
    assert strip.count("Fix with an OKR") == 1


def test_the_strip_is_bounded_and_counts_the_rest(bob_client, org):
    for n in range(11):
        unhealthy(org, f"Broken gauge {n:02}")

    strip = section(html(bob_client.get(reverse("kpi_dashboard"))), "needs-attention")

    assert strip.count("<li ") == 8
    assert "and 3 more" in text(strip)
    assert "health=unhealthy" in strip


def test_the_strip_hides_private_kpis_and_fix_from_viewers(
    bob_client, viewer_client, org, alice
):
    unhealthy(org, "Public churn")
    unhealthy(org, "Secret margin", visibility="private", owner=alice)

    strip = section(html(bob_client.get(reverse("kpi_dashboard"))), "needs-attention")
    assert "Public churn" in strip and "Secret margin" not in strip
    viewer_strip = section(
        html(viewer_client.get(reverse("kpi_dashboard"))), "needs-attention"
    )
    assert "Public churn" in viewer_strip and "Fix with an OKR" not in viewer_strip


def test_no_strip_when_every_kpi_is_fine(bob_client, org):
    healthy(org, "Uptime")
    page = html(bob_client.get(reverse("kpi_dashboard")))
    assert 'id="needs-attention"' not in page


# My focus


def test_my_focus_lists_the_kpis_i_own_or_watch_unhealthy_first(
    bob_client, org, bob, alice
):
    healthy(org, "Aaa uptime I own", owner=bob)
    watched = unhealthy(org, "Zzz churn I watch", owner=alice)
    notify_actions.set_watching(kpi=watched, user=bob, watching=True)
    unhealthy(org, "Someone else's backlog", owner=alice)
    unhealthy(org, "Private to Alice", owner=alice, visibility="private")

    mine = section(html(bob_client.get(reverse("focus"))), "my-kpis")

    names = re.findall(r'<a href="/kpis/\d+/">([^<]+)</a>', mine)
    assert names == ["Zzz churn I watch", "Aaa uptime I own"]
    assert 'class="status unhealthy">Unhealthy<' in mine
    assert 'class="status healthy">Healthy<' in mine
    assert "52" in text(mine) and "12" in text(mine)
    assert "watching" in text(mine)


def test_my_focus_says_when_i_have_no_kpi(bob_client):
    mine = section(html(bob_client.get(reverse("focus"))), "my-kpis")
    assert "You don't own or watch a KPI" in mine


# The objective page's order


def test_the_objective_page_leads_with_summary_key_results_and_chart(
    bob_client, objective, key_results, bob
):
    actions.record_checkin(
        key_result=key_results[0], author=bob, value=D("3"), status="on_track"
    )
    page = html(bob_client.get(reverse("objective", args=[objective.pk])))

    order = [
        page.index(marker)
        for marker in (
            'id="objective-summary"',
            "<h2>Key results</h2>",
            'id="objective-chart"',
            "<h2>Initiatives</h2>",
            '<details class="history"',
            'id="checkins"',
            'id="activity"',
        )
    ]
    assert order == sorted(order)
    history = page[page.index('<details class="history"') :]
    assert '<details class="history" id="history">' in page  # collapsed
    assert "value:" not in history and "status:" not in history


# Activity as sentences


def test_each_kind_of_history_reads_as_a_sentence(alice_client, org, bob, period):
    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Win the Midwest"
    )
    deals = actions.create_key_result(
        objective=objective,
        title="Close 132 deals",
        start=D("0"),
        target=D("132"),
        unit="deals",
    )
    actions.record_checkin(
        key_result=deals, author=bob, value=D("61"), status="on_track"
    )
    actions.record_checkin(
        key_result=deals, author=bob, value=D("68"), status="on_track"
    )
    actions.update_key_result(key_result=deals, target=D("140"))
    visitors = kpi_actions.create_kpi(
        org=org, name="Visitors", target_kind="at_least", target_low=D("30000")
    )
    kpi_actions.update_kpi(kpi=visitors, target_low=D("45000"))
    kpi_actions.record_data_point(
        kpi=visitors, value=D("41000"), source=DataPoint.Source.CONNECTOR
    )

    page = text(html(alice_client.get(reverse("organization_log"))))

    assert "Bob Brown moved Close 132 deals from 61 to 68 deals, on track" in page
    assert "Bob Brown moved Close 132 deals from 0 to 61 deals" in page
    assert "created objective Win the Midwest" in page
    assert "created key result Close 132 deals" in page
    assert "changed the target of key result Close 132 deals from 132 to 140" in page
    assert "changed the target low of KPI Visitors from 30,000 to 45,000" in page
    assert "A connector entered a value of KPI Visitors: 41,000 for" in page
    assert "created period" in page and "created membership Bob Brown" in page
    assert "Someone (or the system)" not in page
    assert "value:" not in page and "status:" not in page


def test_the_filters_narrow_the_organization_log(
    alice_client, org, bob, alice, sales, period
):
    theirs = actions.create_objective(
        org=org, period=period, owner=bob, title="Sales objective", team=sales
    )
    mine = actions.create_objective(
        org=org, period=period, owner=alice, title="Company objective"
    )
    kr_theirs = actions.create_key_result(
        objective=theirs, title="Sales KR", start=D(0), target=D(10)
    )
    kr_mine = actions.create_key_result(
        objective=mine, title="Company KR", start=D(0), target=D(10)
    )
    actions.record_checkin(
        key_result=kr_theirs, author=bob, value=D(1), status="on_track"
    )
    actions.record_checkin(
        key_result=kr_mine, author=alice, value=D(2), status="on_track"
    )
    log = reverse("organization_log")

    by_bob_page = html(alice_client.get(log, {"person": bob.pk}))
    by_bob = text(by_bob_page)
    assert "Bob Brown moved Sales KR" in by_bob
    assert "Alice Adams moved" not in by_bob
    # The filter says what it holds: Bob chosen, everyone else a choice.
    assert f'<option value="{bob.pk}" selected>Bob Brown</option>' in by_bob_page
    assert f'<option value="{alice.pk}">Alice Adams</option>' in by_bob_page

    by_team_page = html(alice_client.get(log, {"team": sales.pk}))
    by_team = text(by_team_page)
    assert f'<option value="{sales.pk}" selected>Sales</option>' in by_team_page
    assert "Sales KR" in by_team and "Sales objective" in by_team
    assert "Company KR" not in by_team and "Company objective" not in by_team
    assert "created period" not in by_team  # a period belongs to no team

    checkins = text(html(alice_client.get(log, {"kind": "checkin"})))
    assert "moved Sales KR" in checkins and "moved Company KR" in checkins
    assert "created objective" not in checkins

    objectives = text(html(alice_client.get(log, {"kind": "objective"})))
    assert "created objective Sales objective" in objectives
    assert " moved " not in objectives

    today = timezone.localdate()
    now = text(
        html(
            alice_client.get(
                log, {"since": today.isoformat(), "until": today.isoformat()}
            )
        )
    )
    assert "moved Sales KR" in now
    earlier = today - timedelta(days=3)
    before = html(alice_client.get(log, {"until": earlier.isoformat()}))
    assert "moved Sales KR" not in text(before)
    assert "No activity matches these filters" in before


def test_the_team_filter_drills_down_as_the_okr_trees_does(alice_client, org):
    """A thousand teams make no list: the company and its departments, then the
    chosen team's parents and sub-teams."""
    from landmark.orgs import actions as org_actions

    company = org_actions.create_team(org=org, name="Acme Inc", kind="company")
    sales = org_actions.create_team(org=org, name="Sales", parent=company)
    west = org_actions.create_team(org=org, name="Sales West", parent=sales)
    deep = org_actions.create_team(org=org, name="West Coast Desk", parent=west)
    log = reverse("organization_log")

    def choices(page: str) -> list[str]:
        select = page[
            page.index('name="team"') : page.index(
                "</select>", page.index('name="team"')
            )
        ]
        return re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", select)

    assert set(choices(html(alice_client.get(log)))) >= {"Acme Inc", "Sales"}
    assert "Sales West" not in choices(html(alice_client.get(log)))
    chosen = html(alice_client.get(log, {"team": west.pk}))
    assert {"Acme Inc", "Sales", "Sales West", "West Coast Desk"} <= set(
        choices(chosen)
    )
    assert f'<option value="{west.pk}" selected>Sales West</option>' in chosen
    # A team of the deepest level is a valid choice once its parent is chosen, and
    # a valid filter whatever the list shows.
    assert "Select a valid choice" not in html(alice_client.get(log, {"team": deep.pk}))


def test_bad_filters_are_refused_next_to_their_field(alice_client, charlie, other_org):
    log = reverse("organization_log")
    page = html(alice_client.get(log, {"since": "2026-05-10", "until": "2026-05-01"}))
    assert "The end of the range is before its start." in page
    # Someone of another organization is no choice.
    page = html(alice_client.get(log, {"person": charlie.pk}))
    assert "Select a valid choice" in page
    # Nor is a team of another organization (or one that does not exist).
    from landmark.orgs import actions as org_actions

    theirs = org_actions.create_team(org=other_org, name="Theirs")
    for team in (theirs.pk, 999999, "x"):
        page = html(alice_client.get(log, {"team": team}))
        assert "Select a valid choice" in page and "Theirs" not in page
    assert (
        html(alice_client.get(log, {"kind": "nonsense"})).count("Select a valid choice")
        == 1
    )


def test_the_organization_log_is_paginated_and_keeps_its_filters(
    alice_client, org, bob, period
):
    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Many check-ins"
    )
    kr = actions.create_key_result(
        objective=objective, title="Counter", start=D(0), target=D(100)
    )
    for n in range(30):
        actions.record_checkin(
            key_result=kr, author=bob, value=D(n + 1), status="on_track"
        )
    log = reverse("organization_log")

    first = html(alice_client.get(log, {"kind": "checkin"}))
    assert text(first).count("moved Counter") == 25
    assert "Changes 1–25 · page 1" in text(first)
    assert 'href="?kind=checkin&amp;page=2">Older →' in first
    assert "Newer" not in text(first)
    second = html(alice_client.get(log, {"kind": "checkin", "page": 2}))
    assert text(second).count("moved Counter") == 5
    assert "Changes 26–30 · page 2" in text(second)
    assert 'href="?kind=checkin&amp;page=1">← Newer' in second
    assert "Older" not in text(second)  # the last page
    # Past the end, and nonsense: the last page and the first, as Django's pager.
    assert (
        text(html(alice_client.get(log, {"kind": "checkin", "page": 9}))).count(
            "moved Counter"
        )
        == 5
    )
    assert (
        text(html(alice_client.get(log, {"kind": "checkin", "page": "x"}))).count(
            "moved Counter"
        )
        == 25
    )
    assert "from 0 to 1" in text(second)  # the oldest, last
    assert "from 29 to 30" in text(first)  # the newest, first


def test_each_page_of_the_log_holds_the_same_events_as_the_whole_feed(
    alice_client, org, bob, period, fixed_clock
):
    """Page n reads only each source's newest n × 25 rows: the pages, read one after
    the other, are still the whole feed in order, however the sources interleave."""
    from landmark.okrs.activity import Filters, activity

    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Interleaved"
    )
    kr = actions.create_key_result(
        objective=objective, title="Counter", start=D(0), target=D(100)
    )
    # Bursts: the sources' newest rows are of different ages, so page 2 needs more
    # than each source's newest 25 rows (60 check-ins, then 40 edits of the
    # objective, then 10 of its key result).
    for n in range(110):
        fixed_clock.shift(timedelta(minutes=1))
        if n < 60:
            actions.record_checkin(
                key_result=kr, author=bob, value=D(n), status="on_track"
            )
        elif n < 100:
            actions.update_objective(objective=objective, title=f"Interleaved {n}")
        else:
            actions.update_key_result(key_result=kr, title=f"Counter {n}")
    times = [
        e.when.isoformat(timespec="seconds") for e in activity(org, Filters()).events
    ]
    assert len(times) > 100
    log = reverse("organization_log")
    pages = [html(alice_client.get(log, {"page": n})) for n in (1, 2, 3)]
    shown = [
        stamp
        for page in pages
        for stamp in re.findall(r'<time class="meta" datetime="([^"]+)"', page)
    ]
    assert [s[:19] for s in shown] == [t[:19] for t in times[: len(shown)]]
    assert len(shown) == min(75, len(times))


def test_the_objective_activity_page_is_filtered_and_private(
    bob_client,
    viewer_client,
    charlie_client,
    org,
    alice,
    period,
    objective,
    key_results,
    bob,
):
    actions.record_checkin(
        key_result=key_results[0], author=bob, value=D("3"), status="on_track"
    )
    secret = actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="A private plan",
        visibility=Objective.Visibility.PRIVATE,
    )
    actions.update_objective(objective=objective, parent=secret)
    url = reverse("objective_activity", args=[objective.pk])

    page = text(html(viewer_client.get(url)))
    assert (
        f"Bob Brown moved {key_results[0].title} from 0 to 3 customers, on track"
        in page
    )
    assert "A private plan" not in page
    only_objective = text(html(viewer_client.get(url, {"kind": "objective"})))
    assert "moved" not in only_objective
    assert f"created objective {objective.title}" in only_objective
    assert charlie_client.get(url).status_code == 404
    assert (
        viewer_client.get(reverse("objective_activity", args=[secret.pk])).status_code
        == 404
    )


def test_the_kpi_history_names_the_system_and_shows_minutes(bob_client, org):
    kpi = kpi_actions.create_kpi(org=org, name="Visitors")
    page = html(bob_client.get(reverse("kpi", args=[kpi.pk])))
    edits = page[page.index('id="kpi-edits"') :]
    assert "Someone (or the system)" not in edits
    assert "<strong>The system</strong> created the KPI" in edits
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", edits)


# The close page


def early_period(org) -> Period:
    today = timezone.localdate()
    return actions.create_period(
        org=org,
        name="Closing early",
        start=today - timedelta(days=60),
        end=today + timedelta(days=27),
        kind=Period.Kind.CUSTOM,
        state=Period.State.ACTIVE,
    )


def close_body(objectives, **extra) -> dict[str, str]:
    data = {
        "grade-TOTAL_FORMS": str(len(objectives)),
        "grade-INITIAL_FORMS": str(len(objectives)),
        "retrospective": "",
        "carry_into": "",
        **extra,
    }
    for i, o in enumerate(objectives):
        data[f"grade-{i}-objective"] = str(o.pk)
    return data


def test_the_close_page_sums_up_at_the_top(alice_client, org, bob):
    period = early_period(org)
    graded = actions.create_objective(org=org, period=period, owner=bob, title="Scored")
    kr = actions.create_key_result(
        objective=graded, title="Half", start=D(0), target=D(10)
    )
    actions.record_checkin(key_result=kr, author=bob, value=D(5), status="on_track")
    bare = actions.create_objective(
        org=org, period=period, owner=bob, title="No key results"
    )

    page = html(alice_client.get(reverse("period_close", args=[period.pk])))

    summary = section(page, "close-summary")
    assert page.index('id="close-summary"') < page.index('id="grade-')
    assert 'id="close-count">2<' in summary
    assert ">0.50<" in summary
    assert 'id="close-ungraded">1<' in summary
    assert f'href="#grade-{bare.pk}"' in summary
    warning = page[page.index('id="early-close"') :]
    assert "closing now is 27 days early" in text(warning)
    assert page.index('id="early-close"') < page.index('id="grade-')


def test_closing_early_needs_confirmation_and_nothing_closes_without_it(
    alice_client, org, bob
):
    period = early_period(org)
    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Goal"
    )
    url = reverse("period_close", args=[period.pk])

    page = html(alice_client.post(url, close_body([objective])))

    period.refresh_from_db()
    objective.refresh_from_db()
    assert period.state == Period.State.ACTIVE and objective.final_score is None
    errors = page[page.index('id="close-errors"') :]
    assert page.index('id="close-errors"') < page.index(f'id="grade-{objective.pk}"')
    assert 'href="#id_confirm_early"' in errors
    assert "closing it now is 27 days early" in text(errors)

    response = alice_client.post(url, close_body([objective], confirm_early="on"))
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.state == Period.State.CLOSED


def test_grade_errors_are_listed_at_the_top_with_links(alice_client, org, bob):
    period = early_period(org)
    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Goal"
    )
    body = close_body([objective], confirm_early="on")
    body["grade-0-score_override"] = "0.9"

    page = html(alice_client.post(reverse("period_close", args=[period.pk]), body))

    errors = page[page.index('id="close-errors"') :]
    assert 'href="#id_grade-0-override_reason"' in errors
    assert (
        "Goal · Override reason: Explain why you override the computed score."
        in text(errors)
    )
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE


def test_no_warning_on_or_after_the_last_day(alice_client, org, bob):
    today = timezone.localdate()
    period = actions.create_period(
        org=org,
        name="Ends today",
        start=today - timedelta(days=30),
        end=today,
        kind=Period.Kind.CUSTOM,
        state=Period.State.ACTIVE,
    )
    objective = actions.create_objective(
        org=org, period=period, owner=bob, title="Goal"
    )
    url = reverse("period_close", args=[period.pk])
    assert 'id="early-close"' not in html(alice_client.get(url))
    assert alice_client.post(url, close_body([objective])).status_code == 302
