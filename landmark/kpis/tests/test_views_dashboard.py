"""The KPI dashboard, KPI set-up, targets per window, Fix with an OKR and the strategy
map, through HTTP.

Each state-changing view works and the database shows it, refuses GET when it is
POST-only, refuses a viewer (403, nothing changes) and hides another organization's
KPIs (404). The dashboard and the strategy map take a pinned number of queries, the
same for 3 KPIs as for 60 KPIs with 45 data points each.
"""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import login
from landmark.kpis import actions, health
from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.kpis.read import load_kpi_views
from landmark.kpis.views import current_healths
from landmark.loop.views import PAGE_SIZE, UNHEALTHY_SHOWN
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Team

D = Decimal
MODELS = [KPI, KPITarget, DataPoint, KPIWindow, Objective, KeyResult, ObjectiveKPI]


# Helpers


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every KPI and OKR row: equal before and after means nothing was written."""
    return {
        m.__name__: list(m._default_manager.order_by("pk").values()) for m in MODELS
    }


def html(response) -> str:
    return response.content.decode()


def tile(page: str, kpi: KPI) -> str:
    """The markup of one KPI's tile ("" when the page does not show it)."""
    start = page.find(f'data-kpi="{kpi.pk}"')
    if start == -1:
        return ""
    start = page.rindex("<article", 0, start)
    return page[start : page.index("</article>", start)]


def tile_ids(page: str) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(r'<article class="kpi-tile[^"]*" data-kpi="(\d+)"', page)
    ]


def field_error(page: str, field: str) -> str:
    """The error text shown next to one form field ("" when it has none)."""
    start = page.find(f'id="field-{field}"')
    if start == -1:
        return ""
    end = page.find('<div class="field', start)
    block = page[start : end if end != -1 else len(page)]
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S))


def windows_back(frequency: str, count: int) -> list[date]:
    """The starts of the last `count` windows, oldest first, ending with today's."""
    return health.previous_windows(frequency, timezone.localdate(), count)


def record(kpi: KPI, values: list[str], author=None) -> None:
    """One value per window, the last one in today's window (now)."""
    if not values:
        return
    starts = windows_back(kpi.frequency, len(values))
    for start, value in zip(starts, values, strict=True):
        when = (
            timezone.now()
            if start == starts[-1]
            else timezone.make_aware(datetime.combine(start, time(12)))
        )
        actions.record_data_point(kpi=kpi, value=D(value), time=when, author=author)


def make_kpi(org, name: str, **fields: Any) -> KPI:
    return actions.create_kpi(org=org, name=name, **fields)


def form_data(kpi: KPI | None = None, **changes: Any) -> dict[str, Any]:
    """The KPI form as a browser posts it (from the KPI when editing)."""
    data: dict[str, Any] = {
        "name": "Median response time",
        "definition": "",
        "owner": "",
        "team": "",
        "category": "Support",
        "unit": "min",
        "indicator": "lag",
        "frequency": "monthly",
        "aggregation": "last",
        "target_kind": "at_most",
        "target_low": "",
        "target_high": "20",
        "tolerance": "10",
        "visibility": "public",
        "key": "",
    }
    if kpi is not None:
        data.update(
            name=kpi.name,
            definition=kpi.definition,
            owner=kpi.owner_id or "",
            team=kpi.team_id or "",
            category=kpi.category,
            unit=kpi.unit,
            indicator=kpi.indicator,
            frequency=kpi.frequency,
            aggregation=kpi.aggregation,
            target_kind=kpi.target_kind,
            target_low="" if kpi.target_low is None else str(kpi.target_low),
            target_high="" if kpi.target_high is None else str(kpi.target_high),
            tolerance=str(kpi.tolerance * 100),
            visibility=kpi.visibility,
            key=kpi.key,
        )
        if kpi.is_key:
            data["is_key"] = "on"
        if kpi.archived:
            data["archived"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


# The KPIs of a small support and sales company


@pytest.fixture
def support(org) -> Team:
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    return org_actions.create_team(
        org=org, name="Support", kind=Team.Kind.DEPARTMENT, parent=root
    )


@pytest.fixture
def response_time(org, support, bob) -> KPI:
    """Unhealthy three months running: 52, 48, 45 minutes against at most 30."""
    kpi = make_kpi(
        org,
        "Average response time",
        team=support,
        owner=bob,
        unit="min",
        category="Support",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D(30),
        is_key=True,
    )
    record(kpi, ["25", "52", "48", "45"])
    return kpi


@pytest.fixture
def revenue(org, sales, alice) -> KPI:
    """Healthy: 120 against at least 100."""
    kpi = make_kpi(
        org,
        "New revenue",
        team=sales,
        owner=alice,
        unit="k$",
        category="Finance",
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D(100),
    )
    record(kpi, ["90", "110", "120"])
    return kpi


@pytest.fixture
def conversion(org, sales) -> KPI:
    """Warning: 7.5 against at least 8 (within 10 %)."""
    kpi = make_kpi(
        org,
        "Lead to customer conversion",
        team=sales,
        unit="%",
        category="Sales",
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D(8),
    )
    record(kpi, ["7.5"])
    return kpi


@pytest.fixture
def headcount(org) -> KPI:
    """No target, company-wide."""
    kpi = make_kpi(org, "Headcount", category="People")
    record(kpi, ["40", "42"])
    return kpi


@pytest.fixture
def kpis(response_time, revenue, conversion, headcount) -> list[KPI]:
    return [response_time, revenue, conversion, headcount]


# The dashboard


def test_it_sends_an_anonymous_visitor_to_the_login_page(client):
    response = client.get(reverse("kpi_dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_each_kpi_with_its_value_target_and_health(bob_client, kpis):
    response = bob_client.get(reverse("kpi_dashboard"))
    assert response.status_code == 200
    page = html(response)
    rev = tile(page, kpis[1])
    assert "health-healthy" in rev
    assert "$120K" in rev
    assert "Target ≥ $100K" in rev
    assert '<svg class="spark"' in rev and 'class="band"' in rev
    conv = tile(page, kpis[2])
    assert "health-warning" in conv and "7.5%" in conv and "≥ 8%" in conv
    assert "health-no_target" in tile(page, kpis[3])
    assert "No target" in tile(page, kpis[3])


def test_it_shows_an_unhealthy_kpi_in_red_with_its_streak(bob_client, response_time):
    page = html(bob_client.get(reverse("kpi_dashboard")))
    red = tile(page, response_time)
    assert "health-unhealthy" in red
    assert "45 min" in red and "Target ≤ 30 min" in red
    assert "3 months unhealthy" in red
    assert ">Key<" in red
    assert "Trend ↑" in red  # 25, 52, 48, 45: worse on the whole


def test_it_groups_tiles_by_department_with_company_kpis_first(bob_client, kpis):
    page = html(bob_client.get(reverse("kpi_dashboard")))
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ["Company", "Sales", "Support"]
    company = page[page.index("<h2>Company</h2>") : page.index("<h2>Sales</h2>")]
    assert tile(company, kpis[3])
    sales = page[page.index("<h2>Sales</h2>") : page.index("<h2>Support</h2>")]
    assert set(tile_ids(sales)) == {kpis[1].pk, kpis[2].pk}


def test_it_shows_stale_and_no_data_kpis_in_grey(bob_client, org):
    weekly = make_kpi(
        org,
        "Weekly signups",
        frequency=KPI.Frequency.WEEKLY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D(10),
    )
    actions.record_data_point(
        kpi=weekly, value=D(50), time=timezone.now() - timedelta(days=30)
    )
    empty = make_kpi(org, "NPS", target_kind="at_least", target_low=D(30))
    page = html(bob_client.get(reverse("kpi_dashboard")))
    assert "health-stale" in tile(page, weekly)
    assert "Stale" in tile(page, weekly)
    assert "health-no_data" in tile(page, empty)
    assert "No data yet" in tile(page, empty)


def test_it_counts_kpis_by_health_at_the_top(bob_client, kpis):
    page = html(bob_client.get(reverse("kpi_dashboard")))
    counts = dict(re.findall(r'data-health="(\w+)"><strong>(\d+)</strong>', page))
    assert counts == {
        "unhealthy": "1",
        "warning": "1",
        "healthy": "1",
        "no_target": "1",
    }
    assert "<strong>4</strong> KPIs" in page


def test_it_keeps_the_counts_of_every_health_when_filtering_by_one(bob_client, kpis):
    page = html(bob_client.get(reverse("kpi_dashboard"), {"health": "unhealthy"}))
    assert tile_ids(page) == [kpis[0].pk]
    assert 'data-health="healthy"><strong>1</strong>' in page


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"team": "sales"}, ["revenue", "conversion"]),
        ({"category": "Finance"}, ["revenue"]),
        ({"health": "warning"}, ["conversion"]),
        ({"health": "no_target"}, ["headcount"]),
        ({"key": "1"}, ["response_time"]),
        ({"team": "sales", "health": "healthy"}, ["revenue"]),
    ],
    ids=["team", "category", "health", "no-target", "key", "team-and-health"],
)
def test_it_filters_the_dashboard(bob_client, kpis, sales, filters, expected, request):
    if "team" in filters:
        filters = {**filters, "team": sales.pk}
    page = html(bob_client.get(reverse("kpi_dashboard"), filters))
    wanted = [request.getfixturevalue(name).pk for name in expected]
    assert sorted(tile_ids(page)) == sorted(wanted)


def test_it_includes_sub_teams_when_filtering_by_a_department(bob_client, org, sales):
    inside = org_actions.create_team(org=org, name="Inside sales", parent=sales)
    kpi = make_kpi(org, "Calls per rep", team=inside)
    page = html(bob_client.get(reverse("kpi_dashboard"), {"team": sales.pk}))
    assert tile_ids(page) == [kpi.pk]


def test_it_hides_archived_kpis_unless_asked(bob_client, kpis):
    actions.update_kpi(kpi=kpis[3], archived=True)
    assert kpis[3].pk not in tile_ids(html(bob_client.get(reverse("kpi_dashboard"))))
    page = html(bob_client.get(reverse("kpi_dashboard"), {"archived": "1"}))
    assert kpis[3].pk in tile_ids(page)
    assert "Archived" in tile(page, kpis[3])


def test_it_offers_to_fix_an_unhealthy_kpi_no_okr_works_on(
    bob_client, viewer_client, response_time, objective
):
    page = html(bob_client.get(reverse("kpi_dashboard")))
    assert reverse("kpi_fix_with_okr", args=[response_time.pk]) in tile(
        page, response_time
    )
    assert "Fix with an OKR" not in html(viewer_client.get(reverse("kpi_dashboard")))
    ObjectiveKPI.objects.create(
        organization=objective.organization, objective=objective, kpi=response_time
    )
    mine = tile(html(bob_client.get(reverse("kpi_dashboard"))), response_time)
    assert "Fix with an OKR" not in mine and "An OKR works on it" in mine


def test_it_shows_the_empty_state_with_a_link_to_the_first_kpi(
    bob_client, viewer_client
):
    page = html(bob_client.get(reverse("kpi_dashboard")))
    assert "No KPIs yet" in page
    assert f'href="{reverse("kpi_create")}"' in page
    assert reverse("kpi_create") not in html(
        viewer_client.get(reverse("kpi_dashboard"))
    )


def test_it_says_when_filters_match_nothing(bob_client, kpis):
    page = html(bob_client.get(reverse("kpi_dashboard"), {"health": "stale"}))
    assert "No KPIs match these filters" in page
    assert "No KPIs yet" not in page


def test_it_never_shows_another_organizations_kpis(charlie_client, kpis, sales):
    page = html(charlie_client.get(reverse("kpi_dashboard")))
    assert tile_ids(page) == []
    assert "Average response time" not in page
    response = charlie_client.get(reverse("kpi_dashboard"), {"team": sales.pk})
    assert response.status_code == 404


def test_it_shows_a_private_kpi_only_to_its_owner_team_and_admins(
    org, bob_client, alice_client, viewer, sales, bob
):
    secret = make_kpi(org, "Pipeline", team=sales, visibility=KPI.Visibility.PRIVATE)
    assert secret.pk not in tile_ids(html(bob_client.get(reverse("kpi_dashboard"))))
    assert secret.pk in tile_ids(html(alice_client.get(reverse("kpi_dashboard"))))
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    assert secret.pk in tile_ids(html(bob_client.get(reverse("kpi_dashboard"))))
    page = html(login(viewer).get(reverse("kpi_dashboard")))
    assert secret.pk not in tile_ids(page)


def test_it_pages_tiles_and_keeps_the_filters(bob_client, org):
    KPI.objects.bulk_create(
        KPI(organization=org, name=f"Metric {n:03}", category="Ops")
        for n in range(PAGE_SIZE + 5)
    )
    first = html(bob_client.get(reverse("kpi_dashboard"), {"category": "Ops"}))
    assert len(tile_ids(first)) == PAGE_SIZE
    assert f"KPIs 1–{PAGE_SIZE} of {PAGE_SIZE + 5}" in first
    assert "?category=Ops&amp;page=2" in first
    second = html(
        bob_client.get(reverse("kpi_dashboard"), {"category": "Ops", "page": 2})
    )
    assert len(tile_ids(second)) == 5
    assert not set(tile_ids(first)) & set(tile_ids(second))
    # The counts cover every matching KPI, not only the page's.
    assert f'data-health="no_data"><strong>{PAGE_SIZE + 5}</strong>' in second


def test_it_reads_the_same_health_for_counting_as_the_tiles_show(org):
    """current_healths (one light query for every KPI) agrees with load_kpi_views."""
    cases = {
        "healthy": ("at_least", D(100), None, ["120"]),
        "warning": ("at_most", None, D(30), ["32"]),
        "unhealthy": ("between", D(10), D(20), ["5", "40"]),
        "no target": ("", None, None, ["1"]),
        "no data": ("at_least", D(1), None, []),
        "scheduled": ("at_least", D(100), None, ["80"]),
    }
    made = []
    for name, (kind, low, high, values) in cases.items():
        kpi = make_kpi(org, name, target_kind=kind, target_low=low, target_high=high)
        record(kpi, values)
        made.append(kpi)
    # A ramp: this month's own target is 70, so 80 is healthy.
    this_month = windows_back("monthly", 1)[0]
    actions.set_kpi_targets(kpi=made[-1], schedule=[(this_month, D(70), None)])
    stale = make_kpi(org, "stale", target_kind="at_least", target_low=D(1))
    actions.record_data_point(
        kpi=stale, value=D(5), time=timezone.now() - timedelta(days=60)
    )
    ancient = make_kpi(org, "ancient", target_kind="at_least", target_low=D(1))
    actions.record_data_point(
        kpi=ancient, value=D(5), time=timezone.now() - timedelta(days=800)
    )
    everything = KPI.objects.filter(organization=org)
    counted = {row.pk: row.health for row in current_healths(everything)}
    shown = {pk: v.health for pk, v in load_kpi_views(list(everything)).items()}
    assert counted == shown
    assert counted[made[-1].pk] == health.Health.HEALTHY
    assert counted[stale.pk] == health.Health.STALE


# Query counts


def add_kpis(
    org, teams: list[Team], count: int, *, windows: int = 15, category: str = ""
) -> None:
    """`count` KPIs with `windows` monthly windows of three points each, some with a
    schedule of targets, some private, spread over departments."""
    made = KPI.objects.bulk_create(
        KPI(
            organization=org,
            name=f"Bulk KPI {n}",
            team=teams[n % len(teams)],
            category=category or f"Category {n % 4}",
            target_kind=KPI.TargetKind.AT_LEAST,
            target_low=D(50),
            is_key=n % 6 == 0,
            visibility=KPI.Visibility.PRIVATE if n % 9 == 8 else KPI.Visibility.PUBLIC,
        )
        for n in range(count)
    )
    starts = windows_back("monthly", windows)
    DataPoint.objects.bulk_create(
        DataPoint(
            organization=org,
            kpi=kpi,
            time=timezone.make_aware(datetime.combine(start, time(8 + hour))),
            value=D(30 + (n + i) % 40 + hour),
        )
        for n, kpi in enumerate(made)
        for i, start in enumerate(starts)
        for hour in range(3)
    )
    for n, kpi in enumerate(made):
        actions.recompute_windows(kpi, starts)
        if n % 4 == 0:
            actions.set_kpi_targets(
                kpi=kpi, schedule=[(s, D(40 + i), None) for i, s in enumerate(starts)]
            )


def queries_for(client, url: str, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def test_it_renders_the_dashboard_in_a_fixed_number_of_queries(
    bob_client, kpis, objective, django_assert_num_queries
):
    # Session, user, membership with its user; KPIs with their latest windows; the
    # page's full KPIs, windows and targets; which of them an OKR works on; the periods
    # Fix with an OKR can draft into (an unhealthy KPI has none); departments and
    # categories for the filters; the menu's My focus count; the "needs attention"
    # strip (whose OKRs working are read with the tiles').
    with django_assert_num_queries(13):
        response = bob_client.get(reverse("kpi_dashboard"))
    assert response.status_code == 200


def test_it_renders_the_strategy_map_in_a_fixed_number_of_queries(
    bob_client, kpis, objective, key_results, period, django_assert_num_queries
):
    ObjectiveKPI.objects.create(
        organization=objective.organization, objective=objective, kpi=kpis[0]
    )
    # Session, user, membership with its user; the period (current one) and the
    # period list; objectives and key results; KPI links; health rows of the KPIs
    # (latest windows); the KPIs shown; windows and targets of the KPIs shown; the
    # menu's My focus count.
    with django_assert_num_queries(13):
        response = bob_client.get(reverse("strategy_map"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"team": "sales", "health": "healthy", "category": "Finance", "archived": "1"},
    ],
    ids=["all", "filtered"],
)
def test_it_takes_as_many_queries_for_60_kpis_with_many_points_as_for_3(
    bob_client,
    org,
    sales,
    support,
    response_time,
    revenue,
    headcount,
    objective,
    params,
):
    if "team" in params:
        params = {**params, "team": sales.pk}
    small = queries_for(bob_client, reverse("kpi_dashboard"), params)
    add_kpis(org, [sales, support], 57, category="Finance")
    assert KPI.objects.filter(organization=org).count() == 60
    assert DataPoint.objects.filter(organization=org).count() > 57 * 45
    assert queries_for(bob_client, reverse("kpi_dashboard"), params) == small


def test_it_takes_as_many_queries_for_a_second_page_as_for_the_first(
    bob_client, org, sales, support
):
    add_kpis(org, [sales, support], PAGE_SIZE + 10, windows=3)
    first = queries_for(bob_client, reverse("kpi_dashboard"))
    assert queries_for(bob_client, reverse("kpi_dashboard"), {"page": 2}) == first


def test_the_strategy_map_takes_as_many_queries_for_60_kpis_as_for_3(
    bob_client,
    org,
    sales,
    support,
    response_time,
    revenue,
    headcount,
    objective,
    period,
):
    ObjectiveKPI.objects.create(
        organization=org, objective=objective, kpi=response_time
    )
    small = queries_for(bob_client, reverse("strategy_map"), {"period": period.pk})
    add_kpis(org, [sales, support], 57)
    for kpi in KPI.objects.filter(organization=org, name__startswith="Bulk")[:20]:
        ObjectiveKPI.objects.create(organization=org, objective=objective, kpi=kpi)
    big = queries_for(bob_client, reverse("strategy_map"), {"period": period.pk})
    assert big == small


def test_the_strategy_map_shows_a_screenful_of_unhealthy_kpis_and_links_to_the_rest(
    bob_client, org, sales, support, bob, period
):
    add_kpis(org, [sales, support], 60)
    membership = bob.memberships.get(organization=org)
    unhealthy = [
        row
        for row in current_healths(kpis_for_member(membership).filter(archived=False))
        if row.health == health.Health.UNHEALTHY
    ]
    assert len(unhealthy) > UNHEALTHY_SHOWN
    page = html(bob_client.get(reverse("strategy_map"), {"period": period.pk}))
    section = page.split('id="unhealthy-without-okr"')[1].split("</section>")[0]
    assert section.count('<article class="kpi-tile ') == UNHEALTHY_SHOWN
    assert f'<span class="count">{len(unhealthy)}</span>' in section
    assert f"Showing {UNHEALTHY_SHOWN} of {len(unhealthy)}" in section
    assert reverse("kpi_dashboard") + "?health=unhealthy" in section


# Creating and editing a KPI


def test_it_creates_a_kpi(bob_client, org, support, bob):
    data = form_data(team=support.pk, owner=bob.pk, tolerance="15", is_key="on")
    response = bob_client.post(reverse("kpi_create"), data)
    kpi = KPI.objects.get(organization=org)
    assert response.status_code == 302
    assert response["Location"] == reverse("kpi", args=[kpi.pk])
    assert kpi.name == "Median response time"
    assert kpi.target_kind == "at_most" and kpi.target_high == 20
    assert kpi.target_low is None
    assert kpi.tolerance == D("0.15")
    assert kpi.team == support and kpi.owner == bob and kpi.is_key


def test_it_shows_the_kpi_form_with_org_choices_only(
    bob_client, support, other_org, charlie
):
    other_team = Team.objects.filter(organization=other_org).first()
    response = bob_client.get(reverse("kpi_create"))
    page = html(response)
    assert response.status_code == 200
    assert "Support" in page and "Warning tolerance (%)" in page
    assert other_team is not None and f'value="{other_team.pk}"' not in page
    assert "Charlie" not in page


def test_it_shows_target_errors_next_to_their_fields_and_saves_nothing(bob_client, org):
    before = db_state()
    response = bob_client.post(
        reverse("kpi_create"),
        form_data(target_kind="between", target_low="10", target_high=""),
    )
    assert response.status_code == 200
    assert "Enter the highest healthy value." in field_error(
        html(response), "target_high"
    )
    assert db_state() == before


def test_it_refuses_a_key_another_kpi_uses(bob_client, org, revenue):
    actions.update_kpi(kpi=revenue, key="revenue")
    before = db_state()
    response = bob_client.post(reverse("kpi_create"), form_data(key="revenue"))
    assert "Another KPI already uses this key." in field_error(html(response), "key")
    assert db_state() == before


def test_it_refuses_a_negative_tolerance(bob_client, org):
    response = bob_client.post(reverse("kpi_create"), form_data(tolerance="-5"))
    assert field_error(html(response), "tolerance")
    assert not KPI.objects.filter(organization=org).exists()


def test_it_does_not_let_a_viewer_create_a_kpi(viewer_client, org):
    before = db_state()
    assert viewer_client.get(reverse("kpi_create")).status_code == 403
    assert viewer_client.post(reverse("kpi_create"), form_data()).status_code == 403
    assert db_state() == before


def test_it_edits_a_kpi(bob_client, revenue):
    response = bob_client.post(
        reverse("kpi_edit", args=[revenue.pk]),
        form_data(revenue, name="Net new revenue", category="Growth", archived="on"),
    )
    assert response.status_code == 302
    revenue.refresh_from_db()
    assert revenue.name == "Net new revenue" and revenue.category == "Growth"
    assert revenue.archived
    assert revenue.target_low == 100


def test_it_shows_the_edit_form_with_the_tolerance_as_a_percent(bob_client, revenue):
    page = html(bob_client.get(reverse("kpi_edit", args=[revenue.pk])))
    assert 'name="tolerance" value="10"' in page
    assert 'value="New revenue"' in page


def test_it_flags_a_raised_bar_without_an_okr(bob_client, revenue):
    response = bob_client.post(
        reverse("kpi_edit", args=[revenue.pk]),
        form_data(revenue, target_low="150"),
        follow=True,
    )
    page = html(response)
    assert "You raised the bar on this KPI without an OKR working on it." in page
    assert f'action="{reverse("kpi_fix_with_okr", args=[revenue.pk])}"' in page
    assert "csrfmiddlewaretoken" in page
    revenue.refresh_from_db()
    assert revenue.target_low == 150


def test_it_does_not_flag_a_raised_bar_an_okr_works_on(bob_client, revenue, objective):
    ObjectiveKPI.objects.create(
        organization=revenue.organization, objective=objective, kpi=revenue
    )
    response = bob_client.post(
        reverse("kpi_edit", args=[revenue.pk]),
        form_data(revenue, target_low="150"),
        follow=True,
    )
    assert "You raised the bar" not in html(response)
    assert "KPI saved." in html(response)


def test_it_drops_the_bound_a_new_target_kind_does_not_use(bob_client, revenue):
    bob_client.post(
        reverse("kpi_edit", args=[revenue.pk]),
        form_data(revenue, target_kind="at_most", target_high="500"),
    )
    revenue.refresh_from_db()
    assert revenue.target_kind == "at_most"
    assert revenue.target_low is None and revenue.target_high == 500


def test_it_refuses_a_new_target_kind_while_targets_per_window_exist(
    bob_client, revenue
):
    start = windows_back("monthly", 1)[0]
    actions.set_kpi_targets(kpi=revenue, schedule=[(start, D(90), None)])
    before = db_state()
    response = bob_client.post(
        reverse("kpi_edit", args=[revenue.pk]),
        form_data(revenue, target_kind="at_most", target_high="500"),
    )
    assert "Clear them on its Targets page first" in field_error(
        html(response), "target_kind"
    )
    assert db_state() == before


def test_it_does_not_let_a_viewer_edit_a_kpi(viewer_client, revenue):
    before = db_state()
    url = reverse("kpi_edit", args=[revenue.pk])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, form_data(revenue, name="X")).status_code == 403
    assert db_state() == before


def test_it_answers_404_for_another_organizations_kpi(charlie_client, revenue):
    before = db_state()
    for name in ("kpi_edit", "kpi_targets"):
        url = reverse(name, args=[revenue.pk])
        assert charlie_client.get(url).status_code == 404
        assert charlie_client.post(url, form_data(revenue, name="X")).status_code == 404
    url = reverse("kpi_fix_with_okr", args=[revenue.pk])
    assert charlie_client.post(url).status_code == 404
    assert db_state() == before


# Targets per window


def test_it_sets_targets_per_window(bob_client, revenue):
    starts = windows_back("monthly", 3)
    text = f"{starts[0]} 100\n\n{starts[1]}  110\n{starts[2]} 125.5\n"
    response = bob_client.post(
        reverse("kpi_targets", args=[revenue.pk]), {"schedule": text}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("kpi", args=[revenue.pk])
    rows = list(
        KPITarget.objects.filter(kpi=revenue).values_list("window_start", "low")
    )
    assert rows == [(starts[0], 100), (starts[1], 110), (starts[2], D("125.5"))]
    # The form shows them back, one per line.
    page = html(bob_client.get(reverse("kpi_targets", args=[revenue.pk])))
    assert f"{starts[2]} 125.5" in page
    # This month's own target (125.5) is what the tile compares 120 with.
    tile_html = tile(html(bob_client.get(reverse("kpi_dashboard"))), revenue)
    assert "Target ≥ $126K" in tile_html and "health-warning" in tile_html


def test_it_sets_low_and_high_for_a_between_target(bob_client, org):
    kpi = make_kpi(
        org, "Stock", target_kind="between", target_low=D(1), target_high=D(5)
    )
    start = windows_back("monthly", 1)[0]
    bob_client.post(reverse("kpi_targets", args=[kpi.pk]), {"schedule": f"{start} 2 6"})
    assert list(KPITarget.objects.filter(kpi=kpi).values_list("low", "high")) == [
        (2, 6)
    ]


def test_it_clears_targets_per_window_with_an_empty_box(bob_client, revenue):
    start = windows_back("monthly", 1)[0]
    actions.set_kpi_targets(kpi=revenue, schedule=[(start, D(90), None)])
    bob_client.post(reverse("kpi_targets", args=[revenue.pk]), {"schedule": ""})
    assert not KPITarget.objects.filter(kpi=revenue).exists()


def test_it_names_the_line_of_each_schedule_error_and_saves_nothing(
    bob_client, revenue
):
    start = windows_back("monthly", 2)[0]
    actions.set_kpi_targets(kpi=revenue, schedule=[(start, D(90), None)])
    before = db_state()
    text = "\n".join(
        [
            f"{start} 100",
            "2025-13-01 100",
            f"{start + timedelta(days=3)} 100",
            f"{start} 120",
            f"{health.next_window('monthly', start)} lots",
            f"{health.next_window('monthly', start)} 1 2",
        ]
    )
    response = bob_client.post(
        reverse("kpi_targets", args=[revenue.pk]), {"schedule": text}
    )
    assert response.status_code == 200
    errors = field_error(html(response), "schedule")
    assert "Line 2: “2025-13-01” is not a date; write it as YYYY-MM-DD." in errors
    assert "Line 3:" in errors and "is not the first day of a monthly window" in errors
    assert f"Line 4: {start} is already on line 1." in errors
    assert "Line 5: &#x27;lots&#x27; is not a number." in errors
    assert "Line 6: write the date and a value." in errors
    assert "Line 1" not in errors
    assert db_state() == before


def test_it_asks_for_a_target_before_targets_per_window(bob_client, headcount):
    response = bob_client.post(
        reverse("kpi_targets", args=[headcount.pk]), {"schedule": "2025-01-01 5"}
    )
    assert "This KPI has no target." in field_error(html(response), "schedule")
    assert not KPITarget.objects.exists()


def test_it_does_not_let_a_viewer_set_targets(viewer_client, revenue):
    before = db_state()
    url = reverse("kpi_targets", args=[revenue.pk])
    assert viewer_client.get(url).status_code == 403
    start = windows_back("monthly", 1)[0]
    assert viewer_client.post(url, {"schedule": f"{start} 1"}).status_code == 403
    assert db_state() == before


# Fix with an OKR


def test_it_fixes_an_unhealthy_kpi_with_a_draft_okr(
    bob_client, response_time, period, bob
):
    response = bob_client.post(reverse("kpi_fix_with_okr", args=[response_time.pk]))
    objective = Objective.objects.get(organization=response_time.organization)
    assert response.status_code == 302
    assert response["Location"] == reverse("objective", args=[objective.pk])
    assert objective.period == period and objective.owner == bob
    assert objective.state == Objective.State.DRAFT
    kr = objective.key_results.get()
    assert kr.kpi == response_time and kr.start == 45 and kr.target == 30
    assert ObjectiveKPI.objects.filter(objective=objective, kpi=response_time).exists()
    page = html(bob_client.get(response["Location"]))
    assert "with a key result to bring Average response time to its target" in page


def test_it_fixes_with_an_okr_in_the_chosen_period(bob_client, org, response_time):
    later = okr_actions.create_period(
        org=org,
        name="Next",
        start=timezone.localdate() + timedelta(days=100),
        end=timezone.localdate() + timedelta(days=190),
        state=Period.State.PLANNING,
    )
    bob_client.post(
        reverse("kpi_fix_with_okr", args=[response_time.pk]), {"period": later.pk}
    )
    assert Objective.objects.get(organization=org).period == later


def test_it_refuses_get_on_fix_with_an_okr(bob_client, response_time, period):
    url = reverse("kpi_fix_with_okr", args=[response_time.pk])
    assert bob_client.get(url).status_code == 405
    assert not Objective.objects.exists()


def test_it_does_not_let_a_viewer_fix_with_an_okr(viewer_client, response_time, period):
    before = db_state()
    url = reverse("kpi_fix_with_okr", args=[response_time.pk])
    assert viewer_client.post(url).status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("problem", ["no target", "no data", "closed period"])
def test_it_explains_why_it_cannot_fix_with_an_okr(
    bob_client, org, period, headcount, problem
):
    kpi = headcount
    if problem == "no data":
        kpi = make_kpi(org, "Empty", target_kind="at_least", target_low=D(1))
    if problem == "closed period":
        kpi = make_kpi(org, "Low", target_kind="at_least", target_low=D(10))
        record(kpi, ["1"])
        Period.objects.filter(pk=period.pk).update(state=Period.State.CLOSED)
    before = db_state()
    url = reverse("kpi_fix_with_okr", args=[kpi.pk])
    response = bob_client.post(url, {"period": period.pk}, follow=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("kpi", args=[kpi.pk])
    messages = [str(m) for m in response.wsgi_request._messages]
    expected = {
        "no target": "Give the KPI a target first",
        "no data": "Enter a value for the KPI first",
        "closed period": "Choose a period that is not closed.",
    }[problem]
    assert any(expected in m for m in messages)
    assert db_state() == before


def test_it_goes_back_to_the_page_it_came_from_after_a_refusal(
    bob_client, headcount, period
):
    response = bob_client.post(
        reverse("kpi_fix_with_okr", args=[headcount.pk]),
        {"next": "/kpis/?health=unhealthy"},
    )
    assert response["Location"] == "/kpis/?health=unhealthy"
    response = bob_client.post(
        reverse("kpi_fix_with_okr", args=[headcount.pk]),
        {"next": "https://evil.test/"},
    )
    assert response["Location"] == reverse("kpi", args=[headcount.pk])


# The strategy map


@pytest.fixture
def mapped(org, period, bob, kpis, objective, key_results) -> dict[str, Any]:
    """The Sales objective works on revenue; a KR of a company objective tracks
    conversion; a child of that objective is aligned through it; a lone objective
    works on nothing."""
    ObjectiveKPI.objects.create(organization=org, objective=objective, kpi=kpis[1])
    company = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Win the mid-market"
    )
    tracking = okr_actions.create_key_result(
        objective=company,
        title="Lift conversion to 10 %",
        kind=KeyResult.Kind.METRIC,
        start=D(7),
        target=D(10),
    )
    KeyResult.objects.filter(pk=tracking.pk).update(kpi=kpis[2])
    child = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Coach every rep", parent=company
    )
    lone = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Refresh the brand"
    )
    return {"company": company, "child": child, "lone": lone}


def section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_it_maps_kpis_to_the_objectives_working_on_them(
    bob_client, period, kpis, objective, mapped
):
    response = bob_client.get(reverse("strategy_map"), {"period": period.pk})
    assert response.status_code == 200
    page = html(response)
    top = page[: page.index('id="unhealthy-without-okr"')]
    # Both in Sales, by name.
    assert tile_ids(top) == [kpis[2].pk, kpis[1].pk]
    revenue_row = top[top.index(f'data-kpi="{kpis[1].pk}"') :]
    revenue_row = revenue_row[: revenue_row.index("</ul>")]
    assert f'data-objective="{objective.pk}"' in revenue_row
    conversion_row = top[top.index(f'data-kpi="{kpis[2].pk}"') :]
    conversion_row = conversion_row[: conversion_row.index("</ul>")]
    assert f'data-objective="{mapped["company"].pk}"' in conversion_row
    assert "%" in conversion_row  # the objective's progress


def test_it_lists_unhealthy_kpis_no_okr_works_on_with_a_fix_button(
    bob_client, period, kpis, mapped
):
    page = html(bob_client.get(reverse("strategy_map"), {"period": period.pk}))
    unhealthy = section(page, "unhealthy-without-okr")
    assert tile_ids(unhealthy) == [kpis[0].pk]
    assert reverse("kpi_fix_with_okr", args=[kpis[0].pk]) in unhealthy
    assert f'name="period" value="{period.pk}"' in unhealthy


def test_it_lists_objectives_aligned_to_no_kpi(bob_client, period, mapped, objective):
    page = html(bob_client.get(reverse("strategy_map"), {"period": period.pk}))
    lonely = section(page, "objectives-without-kpi")
    shown = {int(pk) for pk in re.findall(r'data-objective="(\d+)"', lonely)}
    # The child is aligned to a KPI through its parent.
    assert shown == {mapped["lone"].pk}


def test_it_shows_the_current_period_on_the_strategy_map_by_default(
    bob_client, period, mapped
):
    page = html(bob_client.get(reverse("strategy_map")))
    assert f"<small>{period.name}" in page


def test_it_explains_an_empty_strategy_map(bob_client, org):
    page = html(bob_client.get(reverse("strategy_map")))
    assert "There is no period yet." in page


def test_it_keeps_other_organizations_off_the_strategy_map(
    charlie_client, period, mapped, other_period
):
    assert (
        charlie_client.get(reverse("strategy_map"), {"period": period.pk}).status_code
        == 404
    )
    page = html(charlie_client.get(reverse("strategy_map")))
    assert tile_ids(page) == []
    assert "Average response time" not in page


def test_it_hides_the_fix_button_from_a_viewer_on_the_strategy_map(
    viewer_client, period, mapped
):
    page = html(viewer_client.get(reverse("strategy_map"), {"period": period.pk}))
    assert "Fix with an OKR" not in page
    assert tile_ids(section(page, "unhealthy-without-okr"))


def test_the_roles_see_the_pages(viewer_client, alice_client, kpis, period):
    for client in (viewer_client, alice_client):
        assert client.get(reverse("kpi_dashboard")).status_code == 200
        assert client.get(reverse("strategy_map")).status_code == 200
