"""The coach's findings on a period (landmark/loop/coach.py), with the seed articles'
examples: an objective with six key results, "Launch the new website" as a key result,
the support team's reply time (article 002) unhealthy with no OKR on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.lib.coach import RULES
from landmark.loop import coach
from landmark.loop.tests.makers import unhealthy_kpi
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership

D = Decimal


def member(org, user) -> Membership:
    return Membership.objects.select_related("organization", "user").get(
        organization=org, user=user
    )


def ids(findings) -> list[tuple[str, str]]:
    return [(f.rule.id, f.title) for f in findings]


def fix_of(finding: coach.Finding) -> coach.Fix:
    assert finding.fix is not None
    return finding.fix


def add_krs(objective, n: int, title: str = "Sign new customers") -> None:
    for i in range(n):
        okr_actions.create_key_result(
            objective=objective, title=f"{title} {i + 1}", start=D(0), target=D(10)
        )


def new_objective(org, period, owner, title, *, team=None, krs=3, **kw) -> Objective:
    objective = okr_actions.create_objective(
        org=org, period=period, owner=owner, title=title, team=team, **kw
    )
    add_krs(objective, krs)
    return objective


@pytest.fixture
def bobm(org, bob) -> Membership:
    return member(org, bob)


def test_six_key_results_and_one(org, period, bob, sales, bobm):
    six = new_objective(org, period, bob, "Delight our customers", team=sales, krs=6)
    one = new_objective(org, period, bob, "Win the midwest", team=sales, krs=1)
    found = [f for f in coach.okr_findings(bobm, period) if f.rule.id == "kr-count"]
    by_title = {f.title: f for f in found}
    assert set(by_title) == {six.title, one.title}
    assert by_title[six.title].message == "It has 6 key results; aim for 2 to 5."
    assert fix_of(by_title[one.title]).label == "Add a key result"
    assert (
        str(fix_of(by_title[one.title]).url) == f"/objectives/{one.pk}/key-results/new/"
    )
    assert by_title[one.title].rule.severity == "warning"


def test_a_key_result_that_reads_like_an_initiative(org, period, bob, sales, bobm):
    objective = new_objective(org, period, bob, "Be found by buyers", team=sales, krs=2)
    website = okr_actions.create_key_result(
        objective=objective, title="Launch the new website", start=D(0), target=D(1)
    )
    okr_actions.create_key_result(
        objective=objective,
        title="Launch the pricing page",
        kind=KeyResult.Kind.MILESTONE,
    )
    found = [
        f for f in coach.okr_findings(bobm, period) if f.rule.id == "kr-initiative"
    ]
    assert ids(found) == [("kr-initiative", "Launch the new website")]
    assert fix_of(found[0]).label == "Make it a milestone"
    assert str(fix_of(found[0]).url) == f"/key-results/{website.pk}/edit/"
    assert str(found[0].url).endswith(f"#kr-{website.pk}")


def test_numbers_in_an_objective(org, period, bob, sales, bobm):
    new_objective(org, period, bob, "Increase revenue by 20%", team=sales)
    new_objective(
        org, period, bob, "Increase Brand Awareness in the Midwest", team=sales
    )
    found = coach.okr_findings(bobm, period)
    assert [f.title for f in found if f.rule.id == "objective-numbers"] == [
        "Increase revenue by 20%"
    ]
    assert next(f for f in found if f.rule.id == "objective-numbers").severity == "info"


def test_too_many_objectives_for_a_team_counts_what_the_member_sees(
    org, period, alice, bob, sales, bobm
):
    for i in range(5):
        new_objective(org, period, bob, f"Objective {chr(65 + i)}", team=sales)
    assert not [
        f for f in coach.okr_findings(bobm, period) if f.rule.id == "team-objectives"
    ]
    # A sixth one, private to alice: bob does not see it, nor count it.
    new_objective(
        org,
        period,
        alice,
        "Quietly rebuild the sales team",
        team=sales,
        visibility=Objective.Visibility.PRIVATE,
    )
    assert not [
        f for f in coach.okr_findings(bobm, period) if f.rule.id == "team-objectives"
    ]
    alicem = member(org, alice)
    found = [
        f for f in coach.okr_findings(alicem, period) if f.rule.id == "team-objectives"
    ]
    assert [(f.title, f.message) for f in found] == [
        ("Sales", f"6 objectives in {period.name}; aim for at most 5.")
    ]
    assert "Quietly rebuild the sales team" not in {
        f.title for f in coach.okr_findings(bobm, period)
    }


def test_the_same_objective_in_an_earlier_period(org, period, bob, sales, bobm):
    earlier = okr_actions.create_period(
        org=org,
        name="Earlier",
        start=period.start - timedelta(days=91),
        end=period.start - timedelta(days=1),
        state=Period.State.CLOSED,
    )
    new_objective(org, earlier, bob, "Keep our customers happy", team=sales)
    new_objective(org, period, bob, "Keep our customers happy!", team=sales)
    new_objective(org, period, bob, "Keep our customers happy", team=None)  # not Sales'
    found = [
        f for f in coach.okr_findings(bobm, period) if f.rule.id == "objective-recurs"
    ]
    assert [(f.title, f.message, f.team) for f in found] == [
        ("Keep our customers happy!", "Also an objective in Earlier.", "Sales")
    ]
    assert fix_of(found[0]).label == "Keep as a KPI"


def test_an_objective_aligned_to_nothing(org, period, bob, sales, bobm):
    parent = new_objective(org, period, bob, "Grow in the mid-market", team=sales)
    new_objective(org, period, bob, "Win the midwest", team=sales, parent=parent)
    kpi = kpi_actions.create_kpi(org=org, name="Revenue", unit="$")
    new_objective(org, period, bob, "Sell more", team=sales, kpis=[kpi])
    found = [
        f
        for f in coach.okr_findings(bobm, period)
        if f.rule.id == "objective-unaligned"
    ]
    assert [f.title for f in found] == ["Grow in the mid-market"]


def test_a_private_kpi_does_not_align_for_who_may_not_see_it(
    org, period, alice, bob, sales, bobm
):
    secret = kpi_actions.create_kpi(
        org=org, name="Margin", owner=alice, visibility=KPI.Visibility.PRIVATE
    )
    new_objective(org, period, alice, "Sell more", team=sales, kpis=[secret])
    assert [
        f.title
        for f in coach.okr_findings(bobm, period)
        if f.rule.id == "objective-unaligned"
    ] == ["Sell more"]
    assert not [
        f
        for f in coach.okr_findings(member(org, alice), period)
        if f.rule.id == "objective-unaligned"
    ]


def test_no_owner_no_target_and_the_wrong_way(org, period, bob, sales, bobm):
    objective = new_objective(org, period, bob, "Be found by buyers", team=sales, krs=0)
    visitors = okr_actions.create_key_result(
        objective=objective,
        title="Increase monthly visitors",
        start=D(45000),
        target=D(30000),
    )
    orphan = okr_actions.create_key_result(
        objective=objective, title="Grow signups", start=D(10), target=D(20)
    )
    # As left by an owner's account removed, or rows from before targets were asked.
    KeyResult.objects.filter(pk=orphan.pk).update(owner=None, target=None)
    found = ids(coach.okr_findings(bobm, period))
    assert ("kr-not-ambitious", visitors.title) in found
    assert ("kr-no-owner", "Grow signups") in found
    assert ("kr-no-target", "Grow signups") in found


def test_a_stale_key_result_and_one_reached_early(org, bob, sales, bobm):
    today = timezone.localdate()
    running = okr_actions.create_period(
        org=org,
        name="Running",
        start=today - timedelta(days=60),
        end=today + timedelta(days=30),
        state=Period.State.ACTIVE,
    )
    objective = new_objective(org, running, bob, "Be found by buyers", krs=0)
    okr_actions.create_key_result(
        objective=objective,
        title="Grow signups",
        start=D(10),
        target=D(20),
        start_date=running.start,
    )
    fresh = okr_actions.create_period(
        org=org,
        name="Fresh",
        start=today - timedelta(days=1),
        end=today + timedelta(days=89),
        state=Period.State.ACTIVE,
    )
    easy = new_objective(org, fresh, bob, "Be easy", krs=0)
    kr = okr_actions.create_key_result(
        objective=easy, title="Sign customers", start=D(0), target=D(5)
    )
    okr_actions.record_checkin(
        key_result=kr, author=bob, value=D(5), status=KeyResult.Status.ON_TRACK
    )
    assert ("kr-stale", "Grow signups") in ids(coach.okr_findings(bobm, running))
    found = [
        f for f in coach.okr_findings(bobm, fresh) if f.rule.id == "kr-not-ambitious"
    ]
    assert [(f.title, f.message) for f in found] == [
        ("Sign customers", "Already reached in the first third of the period.")
    ]


def test_rules_turned_off_and_thresholds_changed(org, period, alice, bob, sales, bobm):
    new_objective(org, period, bob, "Delight our customers", team=sales, krs=6)
    assert "kr-count" in {f.rule.id for f in coach.okr_findings(bobm, period)}
    org_actions.update_organization(org=org, by=alice, coach_max_key_results=6)
    bobm = member(org, bob)
    assert "kr-count" not in {f.rule.id for f in coach.okr_findings(bobm, period)}
    org_actions.update_organization(
        org=org, by=alice, coach_max_key_results=5, coach_rules_off="kr-count"
    )
    bobm = member(org, bob)
    assert "kr-count" not in {f.rule.id for f in coach.okr_findings(bobm, period)}


def test_one_objective_sees_its_teams_count(org, period, bob, sales, bobm):
    objectives = [
        new_objective(org, period, bob, f"Objective {chr(65 + i)}", team=sales)
        for i in range(6)
    ]
    found = coach.okr_findings(bobm, period, objective=objectives[0])
    assert ("team-objectives", "Sales") in ids(found)
    assert {f.title for f in found} <= {"Sales", "Objective A"}


def test_a_period_costs_the_same_queries_however_many_objectives(
    org, period, alice, bob, sales, bobm
):
    earlier = okr_actions.create_period(
        org=org,
        name="Earlier",
        start=period.start - timedelta(days=91),
        end=period.start - timedelta(days=1),
    )
    new_objective(org, earlier, bob, "Objective A", team=sales)
    new_objective(org, period, bob, "Objective A", team=sales)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            coach.okr_findings(bobm, period)
            coach.kpi_findings(bobm, period)
        return len(captured)

    kpi = kpi_actions.create_kpi(org=org, name="Revenue", unit="$")
    few = count()
    for i in range(12):
        new_objective(
            org, period, bob, f"Objective {i} more", team=sales, krs=i % 7, kpis=[kpi]
        )
        kpi_actions.create_kpi(org=org, name=f"KPI {i}", team=sales, is_key=True)
    assert count() == few
    # The objectives, key results, alignment, earlier titles; the KPIs' versions, the
    # KPIs a rule may name, the OKRs working on them (asked whatever their health).
    assert few == 7


# KPIs


@pytest.fixture
def reply_time(org, sales, bob) -> KPI:
    """Seed article 002: answered within 30 minutes, currently 52."""
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Average reply time",
        owner=bob,
        team=sales,
        unit="min",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("30"),
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("52"), time=timezone.now() - timedelta(hours=1), author=bob
    )
    return kpi


def test_an_unhealthy_kpi_without_an_okr(org, period, bob, bobm, reply_time):
    found = coach.kpi_findings(bobm, period)
    assert ids(found) == [("kpi-unhealthy-no-okr", "Average reply time")]
    fix = fix_of(found[0])
    assert (fix.label, fix.post, fix.period_id) == ("Fix with an OKR", True, period.pk)
    assert str(fix.url) == f"/kpis/{reply_time.pk}/fix-with-okr/"
    new_objective(org, period, bob, "Answer customers fast", kpis=[reply_time])
    assert coach.kpi_findings(bobm, period) == []


def test_a_kpi_target_raised_without_an_okr(org, period, alice, bob, bobm):
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Net promoter score",
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D("30"),
    )
    assert coach.kpi_findings(bobm, period) == []
    kpi_actions.update_kpi(kpi=kpi, target_low=D("25"))  # lowered: not raised
    assert coach.kpi_findings(bobm, period) == []
    kpi_actions.update_kpi(kpi=kpi, target_low=D("40"))
    found = coach.kpi_findings(bobm, period)
    assert ids(found) == [("kpi-raised-no-okr", "Net promoter score")]
    assert (
        found[0].message
        == f"Its target was raised during {period.name}, and no OKR works on it."
    )
    # Raised before this period: not this period's finding.
    later = okr_actions.create_period(
        org=org,
        name="Later",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )
    assert coach.kpi_findings(bobm, later) == []


def test_too_many_key_kpis_for_a_team(org, period, sales, bobm):
    for i in range(6):
        kpi_actions.create_kpi(org=org, name=f"KPI {i}", team=sales, is_key=True)
    plain = kpi_actions.create_kpi(org=org, name="Plain", team=sales)
    found = coach.kpi_findings(bobm, period)
    assert [(f.rule.id, f.title, f.message) for f in found] == [
        ("team-key-kpis", "Sales", "6 KPIs marked key; aim for at most 5.")
    ]
    one = KPI.objects.filter(name="KPI 0").get()
    assert ids(coach.kpi_findings(bobm, period, kpi=one)) == [
        ("team-key-kpis", "Sales")
    ]
    assert coach.kpi_findings(bobm, period, kpi=plain) == []


def test_findings_on_one_kpi_only(org, period, bobm, reply_time):
    other = kpi_actions.create_kpi(org=org, name="Other", team=None)
    assert ids(coach.kpi_findings(bobm, period, kpi=reply_time)) == [
        ("kpi-unhealthy-no-okr", "Average reply time")
    ]
    assert coach.kpi_findings(bobm, period, kpi=other) == []


def test_stale_findings_agree_with_each_key_results_own_status(org, bob, bobm):
    """The coach asks KeyResult.is_stale only when a key result can be stale: its
    findings are exactly the stale key results, whenever they last checked in."""
    today = timezone.localdate()
    running = okr_actions.create_period(
        org=org,
        name="Running",
        start=today - timedelta(days=60),
        end=today + timedelta(days=30),
        state=Period.State.ACTIVE,
    )
    objective = new_objective(org, running, bob, "Be found by buyers", krs=0)
    now = timezone.now()
    for days in (None, 1, 9, 10, 11, 30):
        kr = okr_actions.create_key_result(
            objective=objective,
            title=f"Checked in {days} days ago",
            start=D(10),
            target=D(20),
            start_date=running.start,
        )
        at = None if days is None else now - timedelta(days=days, minutes=1)
        KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=at)
    stale = {
        kr.title
        for kr in KeyResult.objects.filter(objective=objective)
        if kr.is_stale(running, org, now)
    }
    found = {
        f.title
        for f in coach.okr_findings(bobm, running, now=now)
        if f.rule.id == "kr-stale"
    }
    assert found == stale
    assert "Checked in 1 days ago" not in stale and "Checked in 30 days ago" in stale


# The coach page's report: KPI findings counted in SQL, only the shown ones built


def reference(findings: list[coach.Finding], by: str, shown: int, groups: int):
    """What the coach page showed when it built every finding: grouped by rule (in
    the rules' order) or by team (by name, "No team" last), the first `shown` of
    each group in order(), the first `groups` groups."""
    keyed: dict[str, list[coach.Finding]] = {}
    for f in findings:
        keyed.setdefault((f.team or "No team") if by == "team" else f.rule.id, [])
        keyed[(f.team or "No team") if by == "team" else f.rule.id].append(f)
    if by == "team":
        names = sorted(keyed, key=lambda n: (n == "No team", n.casefold()))
    else:
        names = [r.id for r in RULES if r.id in keyed]
    return (
        [(n, len(keyed[n]), keyed[n][:shown]) for n in names[:groups]],
        max(0, len(names) - groups),
        len(findings),
        sum(f.rule.severity == "warning" for f in findings),
    )


def test_the_report_counts_what_building_every_finding_counted(
    org, period, alice, bob, sales, bobm
):
    support = org_actions.create_team(org=org, name="support")  # lower case: sorted
    for i, team in enumerate([sales, support, None, sales, support, None, sales]):
        unhealthy_kpi(org, f"KPI {chr(ord('g') - i)}", team=team)
    # Not named: an OKR works on it; bob may not see it.
    worked_on = unhealthy_kpi(org, "Worked on", team=sales)
    unhealthy_kpi(org, "Alice's own", visibility=KPI.Visibility.PRIVATE, owner=alice)
    raised = unhealthy_kpi(org, "Raised and unhealthy", team=support)
    kpi_actions.update_kpi(kpi=raised, target_high=D("20"))
    for i in range(6):
        kpi_actions.create_kpi(org=org, name=f"Key {i}", team=support, is_key=True)
    new_objective(org, period, bob, "Answer fast", team=sales, kpis=[worked_on])
    new_objective(org, period, bob, "Grow 10 times", team=support, krs=7)
    everything = coach.order(
        [*coach.okr_findings(bobm, period), *coach.kpi_findings(bobm, period)]
    )
    assert {"kpi-unhealthy-no-okr", "kpi-raised-no-okr", "team-key-kpis"} <= {
        f.rule.id for f in everything
    }
    assert "Worked on" not in {f.title for f in everything}
    assert "Alice's own" not in {f.title for f in everything}
    for by in ("rule", "team"):
        for shown, groups in ((1, 1), (2, 2), (3, 40), (50, 40)):
            report = coach.period_report(
                bobm, period, by=by, shown=shown, groups_shown=groups
            )
            got = (
                [
                    (g.rule.id if g.rule else g.name, g.total, g.findings)
                    for g in report.groups
                ],
                report.groups_more,
                report.total,
                report.warnings,
            )
            assert got == reference(everything, by, shown, groups), (by, shown)


def test_the_report_costs_the_same_queries_however_many_kpis(
    org, period, bob, sales, bobm
):
    def count(by: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            coach.period_report(bobm, period, by=by)
        return len(captured)

    new_objective(org, period, bob, "Objective", team=sales)
    few = {by: count(by) for by in ("rule", "team")}
    for i in range(12):
        unhealthy_kpi(org, f"KPI {i}", team=sales if i % 2 else None)
        kpi_actions.create_kpi(org=org, name=f"Key {i}", team=sales, is_key=True)
    assert {by: count(by) for by in ("rule", "team")} == few
    # okr_findings's four; the KPIs' versions, the teams' key KPIs, then by rule the
    # first KPIs with their counts; by team the counts, then the first KPIs.
    assert few == {"rule": 7, "team": 8}
