"""The weekly digest: what each member is told on the organization's digest day (their
key results and pace as My focus shows them, their teams' KPIs as the dashboard shows
them, the week's changes, kudos), by email (HTML and text, with unsubscribe) and in the
app; once per week whatever reruns; nothing they may not see."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.notify import actions
from landmark.notify.digest import DigestRound, digest_of, run_due_digests
from landmark.notify.models import Notification, ReminderRun, ReminderSettings
from landmark.notify.reminders import latest_occurrence
from landmark.notify.tests.smtp import text_of
from landmark.okrs import actions as okr_actions
from landmark.okrs import scoring
from landmark.okrs.models import KeyResult, Objective
from landmark.okrs.tree import evaluate_key_result
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, User


def friday_four_after(moment: datetime) -> datetime:
    """The first Friday 16:00 UTC (the digest's default moment) a week or more after
    `moment`."""
    friday = ReminderSettings(weekday=4, at_time=time(16, 0), every_weeks=1)
    return latest_occurrence(friday, ZoneInfo("UTC"), moment + timedelta(days=14))


def digests_of(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="weekly_digest"))


@pytest.fixture
def at(fixed_clock, django_capture_on_commit_callbacks):
    def run(when: datetime, action=run_due_digests):
        fixed_clock.move_to(when, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def week(org, bob, alice, tina, sales, bobs_krs, at):
    """Bob's week before a Friday (Bob is in Sales, Tina leads it): Tina checked in on one of his key results, Alice
    gave him kudos, Sales' KPI turned unhealthy; a private KPI of another team and
    another organization's kudos are there too."""
    org_actions.set_team_members(team=sales, members=[bob, tina], leads=[tina])
    friday = friday_four_after(timezone.now())
    wednesday = friday - timedelta(days=2)
    at(
        wednesday,
        lambda: okr_actions.record_checkin(
            key_result=bobs_krs[0],
            author=tina,
            value=Decimal(4),
            status="on_track",
            moved="Two signed",
        ),
    )
    at(
        wednesday,
        lambda: okr_actions.give_kudos(
            sender=alice, recipient=bob, message="Great demo on Tuesday", org=org
        ),
    )
    sales_kpi = kpi_actions.create_kpi(
        org=org,
        name="Pipeline coverage",
        team=sales,
        frequency=KPI.Frequency.WEEKLY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(3),
    )
    hidden_team = org_actions.create_team(org=org, name="Finance")
    kpi_actions.create_kpi(
        org=org,
        name="Cash runway",
        team=hidden_team,
        visibility=KPI.Visibility.PRIVATE,
        frequency=KPI.Frequency.DAILY,
    )
    # Unhealthy on Wednesday, told to nobody (no owner) but recorded as a change.
    from landmark.notify.alerts import run_kpi_alerts

    at(
        wednesday,
        lambda: kpi_actions.record_data_point(
            kpi=sales_kpi, value=Decimal(1), time=wednesday, author=alice
        ),
    )
    at(wednesday + timedelta(hours=2), run_kpi_alerts)
    return friday


def test_each_member_gets_their_week_once(
    org, bob, alice, tina, viewer, bobs_krs, week, smtp_settings, inbox, at
):
    results = at(week + timedelta(minutes=1))
    assert [(r.org_id, r.occurrence) for r in results] == [(org.pk, week)]
    [digest] = digests_of(bob)
    assert digest.title == "Your week in Acme Test"
    assert digest.url == reverse("focus")
    sections = [item["section"] for item in digest.items]
    assert sections == (
        ["Your key results"] * 3
        + ["Your teams' KPIs"]
        + ["Since last week"] * 2
        + ["Kudos for you"]
    )
    # Pace as My focus computes it, for each of Bob's key results.
    now = week + timedelta(minutes=1)
    for kr in KeyResult.objects.filter(pk__in=[k.pk for k in bobs_krs]):
        view = evaluate_key_result(kr, kr.objective.period, org, now)
        [shown] = [i for i in digest.items if i["title"] == kr.title]
        assert shown["detail"].startswith(
            f"{view.progress_label} · {scoring.PACE_LABELS[view.pace]} · "
        )
    kpi_item = digest.items[3]
    assert kpi_item["title"] == "Pipeline coverage"
    assert kpi_item["detail"].startswith("Unhealthy · 1")
    changes = [i["title"] for i in digest.items if i["section"] == "Since last week"]
    assert changes == [
        "Pipeline coverage turned unhealthy",
        "Tina Lead checked in on Sign ten customers",
    ]
    assert digest.items[-1]["detail"] == "Great demo on Tuesday"
    assert "Cash runway" not in str(digest.items)  # another team's private KPI
    assert "3 key results" in digest.body and "1 KPI: 1 unhealthy." in digest.body
    assert "Since last week: 2 changes." in digest.body
    assert "1 kudos received." in digest.body
    # Tina leads Sales: its KPI and Bob's key results' check-in by her are not news
    # to her; Vera (a viewer in no team, owning nothing) gets no digest.
    [tinas] = digests_of(tina)
    assert [i["title"] for i in tinas.items] == [
        "Pipeline coverage",
        "Pipeline coverage turned unhealthy",
    ]
    assert digests_of(viewer) == []

    # Alice, in no team and owning nothing this week, gets none either.
    assert digests_of(alice) == []
    mails = {str(m["To"]): m for m in inbox.wait_for(2)}
    bobs = mails["Bob Brown <bob@acme.test>"]
    assert str(bobs["Subject"]) == "[Acme Test] Your week in Acme Test"
    text = text_of(bobs).replace("\r\n", "\n")
    assert "\n\nYour key results\n----------------\n- Book twenty demos (— · " in text
    assert "\n- Sign ten customers (40% · On track · Win the mid-market)\n" in text
    assert (
        "Kudos for you\n-------------\n- From Alice Adams (Great demo on Tuesday)"
        in (text)
    )
    assert "Stop these emails: http://127.0.0.1:8000/notifications/unsubscribe/" in text
    html = next(
        part.get_content()
        for part in bobs.walk()
        if part.get_content_type() == "text/html"
    )
    assert (
        '<h2 style="font-size: 16px; margin: 16px 0 4px;">Your teams&#x27; KPIs</h2>'
        in html
    )
    assert "Stop these emails</a>" in html
    assert str(bobs["List-Unsubscribe"]).strip().startswith("<http://127.0.0.1:8000/")

    # Run again, and later the same week: nothing more.
    assert at(week + timedelta(minutes=2)) == []
    assert at(week + timedelta(hours=3)) == []
    assert len(digests_of(bob)) == 1
    assert ReminderRun.objects.filter(scope="digest").count() == 1
    assert len(inbox.snapshot()) == 2
    # The next Friday: the next digest.
    at(week + timedelta(days=7, minutes=1))
    assert len(digests_of(bob)) == 2


def test_someone_who_turned_the_digest_off_gets_no_email(
    org, bob, tina, week, smtp_settings, inbox, at
):
    actions.unsubscribe(org=org, user_id=bob.pk, kind="weekly_digest", channel="email")
    at(week + timedelta(minutes=1))
    assert len(digests_of(bob)) == 1  # still in the app, as every notification
    assert len(digests_of(tina)) == 1
    mails = inbox.wait_for(1)
    assert [str(m["To"]) for m in mails] == ["Tina Lead <tina@acme.test>"]


def test_a_digest_is_not_sent_late_nor_when_the_organization_turned_it_off(
    org, bob, bobs_krs, week, at
):
    assert at(week + timedelta(hours=6, minutes=1)) == []  # the worker was stopped
    assert digests_of(bob) == []
    actions.save_reminder_settings(
        org=org,
        enabled=True,
        weekday=0,
        at_time=time(9, 0),
        every_weeks=1,
        escalate_after=2,
        digest_enabled=False,
    )
    assert at(week + timedelta(days=7, minutes=1)) == []
    assert digests_of(bob) == []


def test_the_digest_follows_the_organizations_day_and_time_zone(org, bob, bobs_krs, at):
    at(timezone.now())
    org_actions.update_organization(org=org, by=None, time_zone="Australia/Sydney")
    actions.save_reminder_settings(
        org=org,
        enabled=True,
        weekday=0,
        at_time=time(9, 0),
        every_weeks=1,
        escalate_after=2,
        digest_weekday=0,
        digest_at_time=time(8, 0),
    )
    zone = ZoneInfo("Australia/Sydney")
    monday = latest_occurrence(
        ReminderSettings(weekday=0, at_time=time(8, 0), every_weeks=1),
        zone,
        timezone.now() + timedelta(days=14),
    )
    assert monday.astimezone(zone).hour == 8
    assert at(monday - timedelta(minutes=1)) == []
    assert [r.occurrence for r in at(monday + timedelta(minutes=1))] == [monday]
    assert len(digests_of(bob)) == 1


def test_other_organizations_get_nothing_of_acme(
    org, bob, charlie, other_org, week, at
):
    kpi_actions.create_kpi(org=other_org, name="Other churn", owner=charlie)
    at(week + timedelta(minutes=1))
    [charlies] = Notification.objects.filter(recipient=charlie, kind="weekly_digest")
    assert charlies.organization_id == other_org.pk
    assert [i["title"] for i in charlies.items] == ["Other churn"]
    assert "Acme" not in str((charlies.title, charlies.body, charlies.items))
    [bobs] = digests_of(bob)
    assert "Other churn" not in str(bobs.items)


def test_a_digest_costs_the_same_queries_however_much_is_in_it(
    org, bob, alice, tina, sales, long_period, bobs_krs, week
):
    settings = ReminderSettings(organization=org)
    round_ = DigestRound(org, settings, ZoneInfo("UTC"), week)
    membership = Membership.objects.select_related("organization", "user").get(
        organization=org, user=bob
    )
    with CaptureQueriesContext(connection) as few:
        assert digest_of(membership, round_, week) is not None
    objective = okr_actions.create_objective(
        org=org,
        period=long_period,
        owner=bob,
        title="Grow the channel",
        level=Objective.Level.TEAM,
        team=sales,
    )
    for n in range(5):
        kr = okr_actions.create_key_result(
            objective=objective,
            title=f"Partner {n}",
            kind=KeyResult.Kind.METRIC,
            start=Decimal(0),
            target=Decimal(10),
            owner=bob,
        )
        okr_actions.record_checkin(
            key_result=kr,
            author=tina,
            status="on_track",
            value=Decimal(n),
            at=week - timedelta(hours=n + 1),
        )
        okr_actions.give_kudos(sender=alice, recipient=bob, message=f"#{n}", org=org)
        kpi_actions.create_kpi(org=org, name=f"Sales KPI {n}", team=sales)
    with CaptureQueriesContext(connection) as many:
        note = digest_of(membership, round_, week)
    assert note is not None and len(note.items) == 20
    assert "more in your key results" in note.body
    assert len(many.captured_queries) == len(few.captured_queries)
