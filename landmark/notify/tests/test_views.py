"""The notification pages through HTTP: the inbox and its bell, marking read, a
person's settings, the unsubscribe link, and the reminder schedules; someone else's
notifications are 404; bad input is a field error; constant queries."""

from datetime import time

import pytest
from django.urls import reverse

from landmark.conftest import login
from landmark.notify import actions
from landmark.notify.channels import unsubscribe_token
from landmark.notify.kinds import KINDS
from landmark.notify.models import (
    Notification,
    Preference,
    ReminderSettings,
    TeamCadence,
)


def notes_for(org, user, count: int, start: int = 0) -> list[int]:
    return actions.notify(
        org=org,
        notes=[
            actions.Note(
                recipient_id=user.pk,
                kind="checkin_reminder",
                dedupe_key=f"view-test:{user.pk}:{n}",
                title=f"Reminder number {n}",
                body="Two key results wait.",
                url=reverse("focus"),
                items=[
                    {
                        "title": f"KR {n}",
                        "url": "/objectives/1/#kr-1",
                        "detail": "never",
                    }
                ],
            )
            for n in range(start, start + count)
        ],
    )


def test_the_inbox_lists_my_notifications_newest_first_with_the_unread_count(
    org, bob, bob_client, alice
):
    notes_for(org, bob, 3)
    notes_for(org, alice, 1)  # Alice's: never on Bob's page

    page = bob_client.get(reverse("notifications")).content.decode()
    bell = bob_client.get(reverse("notifications_bell")).content.decode()

    assert page.count('class="notification unread"') == 3
    assert "Reminder number 2" in page and "KR 1" in page
    assert page.index("Reminder number 2") < page.index("Reminder number 0")
    assert "Mark all read (3)" in page
    assert 'data-testid="unread-count">3<' in bell
    assert (
        "Reminder number"
        not in login(alice).get(reverse("notifications_bell")).content.decode()
    )


def test_mark_one_read_then_all(org, bob, bob_client):
    first, *_ = notes_for(org, bob, 3)
    response = bob_client.post(reverse("notification_read", args=[first]))
    assert response.status_code == 302
    assert Notification.objects.get(pk=first).read_at is not None
    bell = bob_client.get(reverse("notifications_bell")).content.decode()
    assert 'data-testid="unread-count">2<' in bell

    # htmx marks one in place and answers its row.
    second = Notification.objects.filter(recipient=bob, read_at__isnull=True).first()
    assert second is not None
    row = bob_client.post(
        reverse("notification_read", args=[second.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert f'id="notification-{second.pk}"' in row and "Mark read" not in row

    bob_client.post(reverse("notifications_read_all"))
    assert not Notification.objects.filter(recipient=bob, read_at__isnull=True).exists()
    assert (
        "unread-count"
        not in bob_client.get(reverse("notifications_bell")).content.decode()
    )


def test_another_persons_or_organizations_notification_is_404(
    org, bob, alice, charlie_client, other_org, charlie
):
    [bobs] = notes_for(org, bob, 1)
    [charlies] = notes_for(other_org, charlie, 1)
    alice_client = login(alice)

    # Alice, Acme's owner, cannot read or mark Bob's; Charlie reaches nothing in Acme.
    assert (
        alice_client.post(reverse("notification_read", args=[bobs])).status_code == 404
    )
    assert (
        charlie_client.post(reverse("notification_read", args=[bobs])).status_code
        == 404
    )
    assert (
        login(bob).post(reverse("notification_read", args=[charlies])).status_code
        == 404
    )
    assert Notification.objects.get(pk=bobs).read_at is None
    # Marking all read marks only one's own.
    alice_client.post(reverse("notifications_read_all"))
    assert Notification.objects.get(pk=bobs).read_at is None


def test_the_inbox_runs_constant_queries(
    org, bob, bob_client, django_assert_max_num_queries
):
    notes_for(org, bob, 2)
    with django_assert_max_num_queries(20) as few:
        bob_client.get(reverse("notifications"))
    notes_for(org, bob, 40, start=2)
    with django_assert_max_num_queries(20) as many:
        bob_client.get(reverse("notifications"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_no_page_pays_for_the_bell(org, bob, bob_client):
    """The bell loads after the page (htmx): the focus page runs no notification
    query."""
    notes_for(org, bob, 2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = bob_client.get(reverse("focus")).content.decode()
    assert 'hx-get="/notifications/bell/"' in page
    assert not [
        q for q in queries.captured_queries if "notify_notification" in q["sql"]
    ]


def test_a_person_turns_a_kind_off_by_email_and_on_again(org, bob, bob_client, alice):
    page = bob_client.get(reverse("notification_settings")).content.decode()
    kinds = list(KINDS)
    assert page.count('type="checkbox"') == len(kinds) == 8
    assert page.count(" checked>") == 8  # every kind on by email by default
    assert "Weekly digest" in page and "KPI turned unhealthy" in page
    assert "Connector failing" in page

    response = bob_client.post(
        reverse("notification_settings"), {"checkin_escalation__email": "on"}
    )
    assert response.status_code == 302
    assert actions.preferences_of(org.pk, bob.pk) == {
        (kind, "email"): kind == "checkin_escalation" for kind in kinds
    }
    # Alice's choices are hers alone.
    assert actions.preferences_of(org.pk, alice.pk)[("checkin_reminder", "email")]

    bob_client.post(
        reverse("notification_settings"), {f"{kind}__email": "on" for kind in kinds}
    )
    assert all(actions.preferences_of(org.pk, bob.pk).values())
    assert Preference.objects.filter(user=bob).count() == len(kinds)


def test_the_unsubscribe_page_asks_then_confirms(org, bob, client):
    url = reverse(
        "unsubscribe",
        args=[
            unsubscribe_token(
                user_id=bob.pk, organization_id=org.pk, kind="checkin_escalation"
            )
        ],
    )
    page = client.get(url).content.decode()
    assert (
        "Stop getting <strong>missed check-ins</strong> from Acme Test by email?"
        in page
    )
    response = client.post(url)
    assert response.status_code == 302
    assert "You will no longer get" in client.get(url).content.decode()
    assert (
        actions.preferences_of(org.pk, bob.pk)[("checkin_escalation", "email")] is False
    )


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        # A token signed with another salt (say, a password reset's) is not one.
        "eyJ1IjoxfQ:1wN5ui:L9ddF8WUyetg0zisY_gZXnMqgmjDU28K97qkJo-GtT8",
        "x" * 3000,
    ],
)
def test_a_forged_or_broken_unsubscribe_link_is_404(client, db, token):
    assert client.get(reverse("unsubscribe", args=[token])).status_code == 404
    assert client.post(reverse("unsubscribe", args=[token])).status_code == 404
    assert Preference.objects.count() == 0


def test_an_unsubscribe_link_opened_while_logged_in_as_someone_else_saves_nothing(
    org, bob, alice
):
    url = reverse(
        "unsubscribe",
        args=[
            unsubscribe_token(
                user_id=bob.pk, organization_id=org.pk, kind="checkin_reminder"
            )
        ],
    )
    client = login(alice)
    response = client.post(url)
    assert response.status_code == 200
    assert "belongs to another account" in response.content.decode()
    assert Preference.objects.count() == 0


def test_an_admin_sets_the_reminder_schedule(org, alice):
    client = login(alice)
    page = client.get(reverse("reminder_settings")).content.decode()
    assert 'value="09:00"' in page and "Monday" in page
    assert 'value="16:00"' in page  # the digest's default time (Friday)
    assert '<option value="60" selected>1 hour</option>' in page

    response = client.post(
        reverse("reminder_settings"),
        {
            "enabled": "on",
            "time_zone": "Europe/Paris",  # no longer a field here: ignored
            "weekday": "4",
            "at_time": "16:30",
            "every_weeks": "2",
            "escalate_after": "3",
            "alert_hold_minutes": "240",
            "digest_weekday": "0",
            "digest_at_time": "08:15",
        },
    )
    assert response.status_code == 302
    saved = ReminderSettings.objects.get(organization=org)
    # The digest turned off (its box unticked), moved to Monday 08:15; alerts after
    # four hours.
    assert (saved.digest_enabled, saved.digest_weekday, saved.digest_at_time) == (
        False,
        0,
        time(8, 15),
    )
    assert saved.alert_hold_minutes == 240
    assert (saved.weekday, saved.at_time, saved.every_weeks) == (
        4,
        time(16, 30),
        2,
    )
    assert saved.escalate_after == 3
    org.refresh_from_db()
    assert org.time_zone == "UTC"  # the organization settings page sets it


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weekday", "7", "Select a valid choice."),
        ("at_time", "25:00", "Enter a valid time."),
        ("every_weeks", "3", "Select a valid choice."),
        ("escalate_after", "0", "greater than or equal to 1"),
        ("escalate_after", "9" * 400, "less than or equal to 12"),
        ("alert_hold_minutes", "7", "Select a valid choice."),
        ("alert_hold_minutes", "", "This field is required."),
        ("digest_weekday", "9", "Select a valid choice."),
        ("digest_at_time", "24:61", "Enter a valid time."),
    ],
)
def test_bad_reminder_settings_are_field_errors(org, alice, field, value, message):
    data = {
        "enabled": "on",
        "weekday": "0",
        "at_time": "09:00",
        "every_weeks": "1",
        "escalate_after": "2",
        "alert_hold_minutes": "60",
        "digest_enabled": "on",
        "digest_weekday": "4",
        "digest_at_time": "16:00",
        field: value,
    }
    response = login(alice).post(reverse("reminder_settings"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReminderSettings.objects.exists()


def test_an_admin_gives_a_team_its_own_schedule_and_takes_it_back(org, alice, sales):
    client = login(alice)
    url = reverse("team_reminders", args=[sales.pk])
    client.post(
        url, {"own": "on", "weekday": "2", "at_time": "10:15", "every_weeks": "1"}
    )
    cadence = TeamCadence.objects.get(team=sales)
    assert (cadence.weekday, cadence.at_time) == (2, time(10, 15))
    assert "Sales" in client.get(reverse("reminder_settings")).content.decode()

    client.post(url, {"weekday": "2", "at_time": "10:15", "every_weeks": "1"})
    assert not TeamCadence.objects.filter(team=sales).exists()


def test_another_organizations_team_schedule_is_404(org, sales, charlie_client):
    url = reverse("team_reminders", args=[sales.pk])
    assert charlie_client.get(url).status_code == 404
    assert (
        charlie_client.post(
            url, {"own": "on", "weekday": "1", "at_time": "09:00", "every_weeks": "1"}
        ).status_code
        == 404
    )
    assert not TeamCadence.objects.exists()
