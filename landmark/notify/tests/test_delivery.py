"""Sending: real mail to a loopback SMTP server (HTML and text, the one-click
unsubscribe headers), an SMTP server that is down (retried, the error recorded where
admins see it, the web request never blocked), claims that outlive a killed worker,
and nothing sent twice."""

import email.utils
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import login
from landmark.notify import actions
from landmark.notify.delivery import BACKOFF, MAX_ATTEMPTS, deliver, deliver_all_due
from landmark.notify.models import Delivery, Notification
from landmark.notify.tests.smtp import html_of, smtp_server, text_of
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership
from landmark.tests.console import free_port


def note(user: Any, key: str = "k1", **extra: Any) -> actions.Note:
    return actions.Note(
        recipient_id=user.pk,
        kind=extra.pop("kind", "checkin_reminder"),
        dedupe_key=key,
        title=extra.pop("title", "2 key results wait for your check-in"),
        body="Not checked in since Monday 4 May.",
        url=reverse("focus"),
        items=[
            {
                "title": "Sign <ten> customers",
                "url": "/objectives/1/#kr-1",
                "detail": "Win · never",
            },
            {
                "title": "Book demos",
                "url": "/objectives/1/#kr-2",
                "detail": "Win · never",
            },
        ],
        **extra,
    )


def test_a_reminder_reaches_a_real_smtp_server_as_html_and_text_with_unsubscribe(
    org, bob, smtp_settings, inbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://okr.example.test"
    with django_capture_on_commit_callbacks(execute=True):
        actions.notify(org=org, notes=[note(bob)])

    [message] = inbox.wait_for(1, timeout=10)
    assert email.utils.parseaddr(message["To"])[1] == "bob@acme.test"
    assert message["Subject"] == "[Acme Test] 2 key results wait for your check-in"
    text, html = text_of(message), html_of(message)
    assert "Sign <ten> customers" in text
    assert "https://okr.example.test/objectives/1/#kr-1" in text
    assert "Sign &lt;ten&gt; customers" in html  # escaped in HTML
    assert 'href="https://okr.example.test/objectives/1/#kr-1"' in html
    # RFC 8058 one-click unsubscribe, the same link as in the body.
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.startswith("https://okr.example.test/notifications/unsubscribe/")
    assert unsubscribe in text and unsubscribe in html
    assert message["Message-ID"]
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None

    # Following the link as a mail provider does (RFC 8058: a POST, no cookies)
    # turns reminders off by email for Bob in Acme; the next one is not mailed.
    path = urlsplit(unsubscribe).path
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        path, {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert (
        actions.preferences_of(org.pk, bob.pk)[("checkin_reminder", "email")] is False
    )
    assert (
        actions.preferences_of(org.pk, bob.pk)[("checkin_escalation", "email")] is True
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.notify(org=org, notes=[note(bob, key="k2")])
    assert len(inbox.snapshot()) == 1
    assert Notification.objects.filter(recipient=bob).count() == 2  # still in the app


def test_the_same_dedupe_key_is_written_and_sent_once(
    org, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.notify(org=org, notes=[note(bob)])
    with django_capture_on_commit_callbacks(execute=True):
        second = actions.notify(org=org, notes=[note(bob), note(bob)])
    assert len(first) == 1
    assert second == []
    assert deliver_all_due().claimed == 0  # and the sweep finds nothing either
    assert len(mail.outbox) == 1


def test_an_smtp_server_that_is_down_never_blocks_the_request_and_is_retried(
    org, bob, alice, settings, fixed_clock, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2

    with django_capture_on_commit_callbacks(execute=True):
        actions.notify(org=org, notes=[note(bob)])  # does not raise

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert "Connection refused" in delivery.last_error
    assert delivery.last_error_at is not None
    assert delivery.next_attempt_at == delivery.last_error_at + BACKOFF[0]

    # The admins see it on the reminders page.
    page = login(alice).get(reverse("reminder_settings")).content.decode()
    assert "Connection refused" in page
    assert "bob@acme.test" in page

    # Too early for the retry: nothing is tried.
    assert deliver_all_due().claimed == 0
    # The server comes back; a minute later the `deliveries` job sends it.
    with smtp_server() as inbox:
        settings.EMAIL_PORT = inbox.port
        fixed_clock.move_to(delivery.next_attempt_at + timedelta(seconds=1))
        outcome = deliver_all_due()
        assert (outcome.sent, outcome.failed) == (1, 0)
        assert len(inbox.wait_for(1, timeout=10)) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    page = login(alice).get(reverse("reminder_settings")).content.decode()
    assert "Connection refused" not in page


def test_after_the_last_attempt_a_delivery_is_given_up(org, bob, settings, fixed_clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    actions.notify(org=org, notes=[note(bob)])
    for _ in range(MAX_ATTEMPTS):
        delivery = Delivery.objects.get()
        fixed_clock.move_to(delivery.next_attempt_at + timedelta(seconds=1))
        deliver_all_due()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == MAX_ATTEMPTS
    fixed_clock.move_to(timezone.now() + timedelta(days=2))
    assert deliver_all_due().claimed == 0


def test_a_claim_of_a_worker_that_died_is_taken_over_after_its_lease(
    org, bob, settings, fixed_clock
):
    actions.notify(org=org, notes=[note(bob)])
    # A worker claimed it and was killed before sending.
    Delivery.objects.update(
        claim="dead-worker", claimed_until=timezone.now() + timedelta(minutes=5)
    )
    assert deliver_all_due().claimed == 0  # the claim still holds
    fixed_clock.move_to(timezone.now() + timedelta(minutes=5, seconds=1))
    outcome = deliver_all_due()
    assert (outcome.claimed, outcome.sent) == (1, 1)
    assert len(mail.outbox) == 1
    # The dead worker's late "sent" would not touch it: its claim is gone.
    assert Delivery.objects.filter(claim="dead-worker").count() == 0


def test_deliveries_of_former_members_are_skipped(org, bob):
    actions.notify(org=org, notes=[note(bob)])
    org_actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=bob)
    )
    outcome = deliver_all_due()
    assert (outcome.skipped, outcome.sent) == (1, 0)
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED
    assert mail.outbox == []


def test_a_notification_of_an_unknown_kind_is_refused(org, bob):
    with pytest.raises(ValueError, match="Unknown notification kinds"):
        actions.notify(org=org, notes=[note(bob, kind="gossip")])


def test_delivering_only_some_notifications_leaves_the_others(org, bob, alice):
    [first] = actions.notify(org=org, notes=[note(bob, key="a")])
    actions.notify(org=org, notes=[note(alice, key="b")])
    assert deliver(channel="email", notification_ids=[first]).sent == 1
    assert [m.to for m in mail.outbox] == [["Bob Brown <bob@acme.test>"]]


def test_a_delivery_written_again_is_kept_once_pending_and_due_with_its_notification(
    org, bob, alice, fixed_clock
):
    """Deliveries are written with one INSERT ... SELECT (actions.add_deliveries):
    each pending, due when its notification was made, with its organization; writing
    them again (another worker, the same notification) adds none."""
    ids = actions.notify(org=org, notes=[note(bob, "a"), note(alice, "b")])
    actions.add_deliveries("email", ids)
    rows = Delivery.objects.filter(notification_id__in=ids).select_related(
        "notification"
    )
    assert sorted(r.notification_id for r in rows) == sorted(ids)
    for row in rows:
        assert row.channel == "email"
        assert row.status == Delivery.Status.PENDING
        assert row.organization_id == org.pk
        assert row.attempts == 0
        assert row.next_attempt_at == row.notification.created_at
        assert (row.claim, row.claimed_until, row.last_error) == ("", None, "")
    assert deliver(channel="email").sent == 2
    assert len(mail.outbox) == 2
