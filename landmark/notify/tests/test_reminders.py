"""Check-in reminders: who gets one and when, escalation to the team lead and then the
admins, per-team schedules, and that a rerun sends nothing twice."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from landmark.notify import actions
from landmark.notify.models import (
    Delivery,
    Notification,
    ReminderRun,
    ReminderSettings,
)
from landmark.notify.reminders import latest_occurrence
from landmark.notify.tests.conftest import monday_nine_after
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Team


def reminders_of(user) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, kind="checkin_reminder").order_by(
            "created_at", "pk"
        )
    )


def escalations_of(user) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, kind="checkin_escalation").order_by(
            "created_at", "pk"
        )
    )


# When


@pytest.mark.parametrize(
    ("now", "zone", "weekday", "at", "every", "expected"),
    [
        # Wednesday: the Monday before, at 09:00 in the zone.
        (
            "2026-05-13T09:30:00+00:00",
            "UTC",
            0,
            "09:00",
            1,
            "2026-05-11T09:00:00+00:00",
        ),
        # Monday 08:59 UTC: still last week's Monday.
        (
            "2026-05-11T08:59:00+00:00",
            "UTC",
            0,
            "09:00",
            1,
            "2026-05-04T09:00:00+00:00",
        ),
        (
            "2026-05-11T09:00:00+00:00",
            "UTC",
            0,
            "09:00",
            1,
            "2026-05-11T09:00:00+00:00",
        ),
        # 09:00 in Sydney on Monday is 23:00 UTC on Sunday.
        (
            "2026-05-11T00:00:00+00:00",
            "Australia/Sydney",
            0,
            "09:00",
            1,
            "2026-05-10T23:00:00+00:00",
        ),
        # 09:00 in New York (summer time) is 13:00 UTC.
        (
            "2026-05-11T12:00:00+00:00",
            "America/New_York",
            0,
            "09:00",
            1,
            "2026-05-04T13:00:00+00:00",
        ),
        # Every two weeks: only on even weeks counted from Monday 5 January 1970.
        (
            "2026-05-20T09:30:00+00:00",
            "UTC",
            0,
            "09:00",
            2,
            "2026-05-11T09:00:00+00:00",
        ),
        (
            "2026-05-13T09:30:00+00:00",
            "UTC",
            0,
            "09:00",
            2,
            "2026-05-11T09:00:00+00:00",
        ),
        # Friday 16:30, after a weekend in winter time in Berlin (UTC+1).
        (
            "2026-01-12T10:00:00+00:00",
            "Europe/Berlin",
            4,
            "16:30",
            1,
            "2026-01-09T15:30:00+00:00",
        ),
    ],
)
def test_the_last_reminder_moment_is_in_the_organizations_time_zone(
    now, zone, weekday, at, every, expected
):
    cadence = ReminderSettings(
        weekday=weekday, at_time=time.fromisoformat(at), every_weeks=every
    )
    found = latest_occurrence(cadence, ZoneInfo(zone), datetime.fromisoformat(now))
    assert found == datetime.fromisoformat(expected)
    assert found.tzinfo == UTC


def test_reminders_go_out_on_monday_at_nine_to_owners_of_key_results_not_checked_in(
    bob, bobs_krs, first_due_monday, remind_at
):
    # The Sunday before: nothing yet (last Monday they were new).
    remind_at(first_due_monday - timedelta(hours=15))
    assert reminders_of(bob) == []

    done = remind_at(first_due_monday)

    assert [(r.reminded, r.escalated) for r in done] == [(1, 0)]
    [note] = reminders_of(bob)
    assert note.title == "3 key results wait for your check-in"
    assert [item["title"] for item in note.items] == [kr.title for kr in bobs_krs]
    assert note.items[0]["url"] == (
        f"/objectives/{bobs_krs[0].objective_id}/#kr-{bobs_krs[0].pk}"
    )
    assert note.read_at is None
    [message] = mail.outbox
    assert message.to == ["Bob Brown <bob@acme.test>"]
    assert "3 key results wait for your check-in" in message.subject
    assert "Sign ten customers" in message.body


def test_each_listed_key_result_links_to_its_own_objective(
    org, long_period, bob, alice, sales, bobs_krs, first_due_monday, remind_at
):
    # A second objective, made at the same moment as Bob's first: Bob owns one of its
    # key results and Alice the other. Each reminder links every key result to the
    # page of its own objective.
    other = okr_actions.create_objective(
        org=org,
        period=long_period,
        owner=alice,
        title="Open the Lisbon office",
        level=Objective.Level.TEAM,
        team=sales,
    )
    bobs_other, alices = (
        okr_actions.create_key_result(
            objective=other,
            title=title,
            kind=KeyResult.Kind.METRIC,
            start=Decimal(0),
            target=Decimal(1),
            owner=owner,
        )
        for title, owner in (("Sign the lease", bob), ("Hire an office lead", alice))
    )
    KeyResult.objects.filter(pk__in=[bobs_other.pk, alices.pk]).update(
        created_at=bobs_krs[0].created_at
    )

    remind_at(first_due_monday)

    [note] = reminders_of(bob)
    assert sorted(item["url"] for item in note.items) == sorted(
        f"/objectives/{kr.objective_id}/#kr-{kr.pk}" for kr in [*bobs_krs, bobs_other]
    )
    [alices_note] = reminders_of(alice)
    assert [item["url"] for item in alices_note.items] == [
        f"/objectives/{other.pk}/#kr-{alices.pk}"
    ]


def test_those_who_checked_in_within_the_cadence_are_skipped(
    bob, alice, org, bobs_krs, first_due_monday, remind_at, fixed_clock
):
    # Bob checks in two of his three on the Friday before; the third stays due.
    fixed_clock.move_to(first_due_monday - timedelta(days=3), tick=False)
    for kr in bobs_krs[:2]:
        okr_actions.record_checkin(
            key_result=kr, author=bob, status="on_track", value=Decimal(3)
        )
    # Alice owns a key result she checked in too: she gets nothing.
    objective = okr_actions.create_objective(
        org=org, period=bobs_krs[0].objective.period, owner=alice, title="Grow"
    )
    fixed_clock.move_to(first_due_monday - timedelta(days=10), tick=False)
    hers = okr_actions.create_key_result(
        objective=objective,
        title="Raise NPS",
        start=Decimal(0),
        target=Decimal(9),
        owner=alice,
    )
    fixed_clock.move_to(first_due_monday - timedelta(days=1), tick=False)
    okr_actions.record_checkin(
        key_result=hers, author=alice, status="on_track", value=Decimal(1)
    )

    remind_at(first_due_monday)

    [note] = reminders_of(bob)
    assert note.title == "1 key result waits for your check-in"
    assert [item["title"] for item in note.items] == ["Hire two reps"]
    assert reminders_of(alice) == []
    assert len(mail.outbox) == 1


def test_no_reminder_for_drafts_done_milestones_ended_periods_or_former_members(
    org, bob, alice, bobs_krs, first_due_monday, remind_at
):
    objective = bobs_krs[0].objective
    okr_actions.update_objective(objective=objective, state=Objective.State.DRAFT)
    remind_at(first_due_monday)
    assert reminders_of(bob) == []

    okr_actions.update_objective(objective=objective, state=Objective.State.ACTIVE)
    org_actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=bob)
    )
    remind_at(first_due_monday + timedelta(weeks=1))
    assert reminders_of(bob) == []
    assert mail.outbox == []


def test_a_rerun_of_the_job_sends_nothing_twice(
    bob, bobs_krs, first_due_monday, remind_at
):
    remind_at(first_due_monday)
    # The next minute, and again an hour later: the round is done.
    assert remind_at(first_due_monday + timedelta(minutes=1)) == []
    assert remind_at(first_due_monday + timedelta(hours=1)) == []
    # Even if the round's record were gone, the dedupe keys hold.
    ReminderRun.objects.all().delete()
    again = remind_at(first_due_monday + timedelta(hours=2))
    assert [(r.reminded, r.escalated) for r in again] == [(1, 0)]

    assert len(reminders_of(bob)) == 1
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_new_organization_gets_no_reminder_for_a_moment_before_it_existed(
    org, bob, bobs_krs, remind_at
):
    # The Monday before its creation is never done, not even late.
    assert remind_at(org.created_at + timedelta(minutes=1)) == []
    assert ReminderRun.objects.count() == 0


def test_after_two_missed_reminders_the_team_lead_is_told_then_the_admins(
    org, bob, tina, alice, bobs_krs, first_due_monday, remind_at
):
    mondays = [first_due_monday + timedelta(weeks=n) for n in range(5)]
    remind_at(mondays[0])
    remind_at(mondays[1])
    assert escalations_of(tina) == []  # one reminder let pass so far

    remind_at(mondays[2])  # the second let pass: Tina, Sales' lead, is told

    [told] = escalations_of(tina)
    assert told.title == "Bob Brown let 2 check-in reminders pass"
    assert {item["title"] for item in told.items} == {kr.title for kr in bobs_krs}
    assert escalations_of(alice) == []

    remind_at(mondays[3])  # one more: the admins (Alice, the owner)
    [to_alice] = escalations_of(alice)
    assert to_alice.title == "Bob Brown let 3 check-in reminders pass"
    assert len(escalations_of(tina)) == 1

    remind_at(mondays[4])  # nobody is told twice
    assert len(escalations_of(tina)) == len(escalations_of(alice)) == 1
    assert len(reminders_of(bob)) == 5
    subjects = [m.subject for m in mail.outbox]
    assert sum("let 2 check-in reminders pass" in s for s in subjects) == 1


def test_a_check_in_ends_the_streak(
    org, bob, tina, bobs_krs, first_due_monday, remind_at, fixed_clock
):
    remind_at(first_due_monday)
    remind_at(first_due_monday + timedelta(weeks=1))
    # Bob checks in everything on Tuesday; a week later two are due again.
    fixed_clock.move_to(first_due_monday + timedelta(weeks=1, days=1), tick=False)
    for kr in bobs_krs:
        okr_actions.record_checkin(
            key_result=kr, author=bob, status="on_track", value=Decimal(2)
        )
    remind_at(first_due_monday + timedelta(weeks=2))  # nothing due: streak over
    remind_at(first_due_monday + timedelta(weeks=3))
    remind_at(first_due_monday + timedelta(weeks=4))

    assert len(reminders_of(bob)) == 4
    assert escalations_of(tina) == []


def test_the_escalation_setting_and_a_lead_who_owns_the_key_result(
    org, bob, tina, alice, bobs_krs, first_due_monday, remind_at
):
    settings = actions.reminder_settings_of(org)
    actions.save_reminder_settings(
        org=org,
        enabled=True,
        weekday=settings.weekday,
        at_time=settings.at_time,
        every_weeks=settings.every_weeks,
        escalate_after=1,
    )
    # Tina owns one of the key results herself: her own lapse goes to the admins.
    KeyResult.objects.filter(pk=bobs_krs[2].pk).update(owner=tina)

    remind_at(first_due_monday)
    remind_at(first_due_monday + timedelta(weeks=1))

    [to_tina] = escalations_of(tina)
    assert {item["title"] for item in to_tina.items} == {
        "Sign ten customers",
        "Book twenty demos",
    }
    [to_alice] = escalations_of(alice)
    assert to_alice.title == "Tina Lead let 1 check-in reminder pass"
    assert [item["title"] for item in to_alice.items] == ["Hire two reps"]


def test_a_private_objective_is_escalated_only_to_who_may_see_it(
    org, bob, tina, alice, long_period, sales, first_due_monday, remind_at
):
    """Tina leads Sales but not Support: Bob's private Support objective goes to the
    admins, never to her."""
    support = org_actions.create_team(org=org, name="Support", kind=Team.Kind.TEAM)
    hidden = okr_actions.create_objective(
        org=org,
        period=long_period,
        owner=bob,
        title="Quietly fix the backlog",
        team=support,
        visibility=Objective.Visibility.PRIVATE,
    )
    okr_actions.create_key_result(
        objective=hidden,
        title="Close 40 old tickets",
        start=Decimal(0),
        target=Decimal(40),
        owner=bob,
    )
    for week in range(3):
        remind_at(first_due_monday + timedelta(weeks=week))

    # Tina is told of Bob's Sales key results only; the admins of the hidden one.
    [to_tina] = escalations_of(tina)
    assert "Close 40 old tickets" not in {item["title"] for item in to_tina.items}
    assert len(to_tina.items) == 3
    [to_alice] = escalations_of(alice)
    assert [item["title"] for item in to_alice.items] == ["Close 40 old tickets"]


def test_a_team_with_its_own_schedule_is_reminded_then_and_not_on_monday(
    org, bob, sales, bobs_krs, first_due_monday, remind_at
):
    actions.save_team_cadence(
        team=sales, own=True, weekday=3, at_time=time(14, 0), every_weeks=1
    )
    thursday = first_due_monday - timedelta(days=4) + timedelta(hours=5)

    remind_at(thursday)
    [note] = reminders_of(bob)
    assert note.dedupe_key.endswith(
        f":team:{sales.pk}:{thursday:%Y%m%dT%H%MZ}:{bob.pk}"
    )

    remind_at(first_due_monday)  # the organization's Monday leaves Sales alone
    assert len(reminders_of(bob)) == 1
    remind_at(thursday + timedelta(weeks=1))
    assert len(reminders_of(bob)) == 2


def test_reminders_turned_off_send_nothing(
    org, bob, bobs_krs, first_due_monday, remind_at
):
    actions.save_reminder_settings(
        org=org,
        enabled=False,
        weekday=0,
        at_time=time(9, 0),
        every_weeks=1,
        escalate_after=2,
    )
    remind_at(first_due_monday)
    assert reminders_of(bob) == []


def test_the_time_zone_moves_the_moment(
    org, bob, bobs_krs, first_due_monday, remind_at
):
    org_actions.update_organization(org=org, by=None, time_zone="America/New_York")
    actions.save_reminder_settings(
        org=org,
        enabled=True,
        weekday=0,
        at_time=time(9, 0),
        every_weeks=1,
        escalate_after=2,
    )
    in_new_york = monday_nine_after(
        first_due_monday - timedelta(days=1), "America/New_York"
    )
    assert in_new_york.hour in {13, 14}  # 09:00 EDT or EST

    remind_at(in_new_york - timedelta(minutes=2))
    assert reminders_of(bob) == []
    remind_at(in_new_york)
    assert len(reminders_of(bob)) == 1


def test_a_new_time_zone_sends_no_reminder_late(
    org, alice, bob, bobs_krs, first_due_monday, remind_at, fixed_clock
):
    """Moved from UTC to Tokyo on a Monday at 10:00 UTC (19:00 in Tokyo): that
    day's 09:00 in Tokyo is already past and is not sent; the next one is."""
    remind_at(first_due_monday)
    assert len(reminders_of(bob)) == 1
    fixed_clock.move_to(first_due_monday + timedelta(hours=1), tick=False)
    org_actions.update_organization(org=org, by=alice, time_zone="Asia/Tokyo")

    remind_at(first_due_monday + timedelta(hours=2))
    assert len(reminders_of(bob)) == 1

    in_tokyo = monday_nine_after(first_due_monday, "Asia/Tokyo")
    remind_at(in_tokyo - timedelta(minutes=2))
    assert len(reminders_of(bob)) == 1
    remind_at(in_tokyo)
    assert len(reminders_of(bob)) == 2


def test_the_round_takes_constant_queries_whatever_the_number_of_people(
    org,
    long_period,
    sales,
    first_due_monday,
    fixed_clock,
    django_capture_on_commit_callbacks,
):
    from landmark.notify.reminders import run_due_reminders

    def people(count: int, start: int) -> None:
        fixed_clock.move_to(first_due_monday - timedelta(days=10), tick=False)
        for n in range(start, start + count):
            user = org_actions.create_member(
                org=org,
                email=f"p{n}@acme.test",
                role=Membership.Role.MEMBER,
                full_name=f"P {n}",
            ).user
            objective = okr_actions.create_objective(
                org=org,
                period=long_period,
                owner=user,
                title=f"Objective {n}",
                team=sales,
            )
            for k in range(3):
                okr_actions.create_key_result(
                    objective=objective,
                    title=f"KR {n}.{k}",
                    start=Decimal(0),
                    target=Decimal(5),
                    owner=user,
                )

    def count_round(at: datetime) -> tuple[int, int, int]:
        """Queries of the round itself, and of sending its emails, and emails sent."""
        fixed_clock.move_to(at + timedelta(seconds=30), tick=False)
        sent_before = len(mail.outbox)
        with (
            CaptureQueriesContext(connection) as round_queries,
            django_capture_on_commit_callbacks() as sends,
        ):
            [done] = run_due_reminders()
        with CaptureQueriesContext(connection) as send_queries:
            for send in sends:
                send()
        assert done.reminded == len(mail.outbox) - sent_before, [
            m.to for m in mail.outbox[sent_before:]
        ]
        return len(round_queries), len(send_queries), done.reminded

    actions.save_reminder_settings(  # no escalation in these three weeks
        org=org,
        enabled=True,
        weekday=0,
        at_time=time(9, 0),
        every_weeks=1,
        escalate_after=12,
    )
    people(2, 0)
    count_round(first_due_monday)  # everyone's first reminder
    people(2, 2)
    few = count_round(first_due_monday + timedelta(weeks=1))
    people(12, 4)
    many = count_round(first_due_monday + timedelta(weeks=2))

    assert (few[2], many[2]) == (5, 17)  # with Bob
    # Writing the round: the same queries for 2 people as for 14.
    assert many[0] == few[0]
    # Sending: one query per email (marking it sent as soon as it is) and a constant
    # number per batch.
    assert many[1] - many[2] == few[1] - few[2]
