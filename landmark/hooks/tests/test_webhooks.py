"""Outgoing webhooks end to end: a real loopback receiver, the SSRF guard, the worker's
sending code, the settings pages."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import login
from landmark.hooks import actions
from landmark.hooks.models import Webhook, WebhookAttempt, WebhookDelivery
from landmark.hooks.sending import send_all_due, send_due
from landmark.hooks.signing import verify
from landmark.hooks.tests.receiver import receiving
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership

ALL = [
    "objective.created",
    "objective.updated",
    "checkin.recorded",
    "kpi.health_changed",
    "period.closed",
    "member.joined",
]


def hook(org: Any, url: str, events: list[str] = ALL) -> tuple[Webhook, str]:
    webhook, secret = actions.create_webhook(org=org, url=url, events=events)
    return webhook, secret


def signed_by(request: Any, secret: str) -> bool:
    return verify(
        secret,
        request.headers["Landmark-Timestamp"],
        request.body,
        request.headers["Landmark-Signature"],
        now=int(timezone.now().timestamp()),
        tolerance=300,
    )


def test_an_objective_created_reaches_the_receiver_signed_after_commit(
    org, alice, period, sales, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        webhook, secret = hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            objective = okr_actions.create_objective(
                org=org,
                period=period,
                owner=alice,
                title="Delight customers",
                team=sales,
            )
            # Written with the change, nothing sent yet (not in the transaction).
            assert WebhookDelivery.objects.filter(webhook=webhook).count() == 1
            assert receiver.snapshot() == []
        assert len(callbacks) == 1
        callbacks[0]()  # the commit: the job runs (in-process in tests)
        [request] = receiver.snapshot()
    assert signed_by(request, secret)
    assert not signed_by(request, "whsec_another")
    assert request.headers["Landmark-Event"] == "objective.created"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["event"] == "objective.created"
    assert body["id"] == request.headers["Landmark-Delivery"]
    assert body["organization"] == {"id": org.pk, "slug": org.slug, "name": org.name}
    assert body["data"]["objective"]["id"] == objective.pk
    assert body["data"]["objective"]["title"] == "Delight customers"
    assert body["data"]["objective"]["url"].endswith(f"/objectives/{objective.pk}/")
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.status == WebhookDelivery.Status.SENT
    [attempt] = delivery.log.all()
    assert attempt.status_code == 200 and attempt.error == ""
    assert attempt.duration_ms >= 0


def test_the_secret_is_shown_once_and_kept_encrypted(org, alice):
    client = login(alice)
    with receiving() as receiver:
        response = client.post(
            reverse("webhooks"),
            {"url": receiver.url, "events": ["checkin.recorded"], "description": "CI"},
        )
    webhook = Webhook.objects.get(organization=org)
    assert response["Location"] == reverse("webhook_detail", args=[webhook.pk])
    page = client.get(response["Location"]).content.decode()
    assert webhook.secret is not None
    secret = webhook.secret.reveal()
    assert secret.startswith("whsec_") and secret in page
    # Stored encrypted: the column holds a Fernet token, not the secret.
    raw = Webhook.objects.filter(pk=webhook.pk).values_list("secret", flat=True)[0]
    assert raw is not None and secret not in raw.token
    # Never shown again.
    assert (
        secret
        not in client.get(reverse("webhook_detail", args=[webhook.pk])).content.decode()
    )
    assert secret not in client.get(reverse("webhooks")).content.decode()


def test_every_event_is_sent_with_its_data(
    org, alice, bob, period, objective, django_capture_on_commit_callbacks
):
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Sign customers",
        kind=KeyResult.Kind.METRIC,
        start=Decimal("0"),
        target=Decimal("10"),
    )
    with receiving() as receiver:
        hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.update_objective(objective=objective, title="Renamed")
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.record_checkin(
                key_result=kr,
                author=bob,
                status=KeyResult.Status.ON_TRACK,
                value=Decimal("3"),
            )
        with django_capture_on_commit_callbacks(execute=True):
            kpi = kpi_actions.create_kpi(
                org=org,
                name="Deals won",
                owner=alice,
                frequency=KPI.Frequency.MONTHLY,
                target_kind=KPI.TargetKind.AT_LEAST,
                target_low=Decimal("100"),
            )
            kpi_actions.record_data_point(
                kpi=kpi, value=Decimal("50"), time=timezone.now(), author=alice
            )
        with django_capture_on_commit_callbacks(execute=True):
            org_actions.create_member(
                org=org,
                email="newbie@acme.test",
                role=Membership.Role.MEMBER,
                full_name="New Bie",
            )
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.close_period(period=period, grades=[], author=alice)
        got = {r.json()["event"]: r.json() for r in receiver.snapshot()}
    assert got["objective.updated"]["data"]["objective"]["title"] == "Renamed"
    assert got["objective.updated"]["data"]["changed"] == ["title"]
    checkin = got["checkin.recorded"]["data"]["checkin"]
    assert (checkin["key_result_id"], checkin["value"], checkin["status"]) == (
        kr.pk,
        "3",
        "on_track",
    )
    health = got["kpi.health_changed"]["data"]
    assert health["kpi"]["name"] == "Deals won"
    assert health["health"] == {"before": "no_data", "after": "unhealthy"}
    assert got["member.joined"]["data"]["member"]["name"] == "New Bie"
    assert got["member.joined"]["data"]["member"]["role"] == "member"
    assert got["period.closed"]["data"]["period"]["id"] == period.pk


def test_only_subscribed_events_and_only_this_organizations(
    org, other_org, alice, charlie, period, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        hook(org, receiver.url, events=["checkin.recorded"])
        hook(other_org, receiver.url, events=ALL)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(
                org=org, period=period, owner=alice, title="Not subscribed"
            )
        assert receiver.snapshot() == []
        assert not WebhookDelivery.objects.exists()


def test_run_twice_sends_nothing_twice(
    org, alice, period, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        webhook, _ = hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            objective = okr_actions.create_objective(
                org=org, period=period, owner=alice, title="Once"
            )
        # The same event written again (a job run twice): queued once.
        from landmark.hooks.events import on_objective_saved

        with django_capture_on_commit_callbacks(execute=True):
            on_objective_saved(None, objective=objective, created=True, fields=["*"])
        assert send_all_due().claimed == 0
        assert send_due(ids=[d.pk for d in WebhookDelivery.objects.all()]).claimed == 0
        assert len(receiver.snapshot()) == 1
    assert WebhookDelivery.objects.filter(webhook=webhook).count() == 1


def test_a_failing_receiver_is_retried_then_the_webhook_turned_off_with_an_email(
    org, alice, bob, period, django_capture_on_commit_callbacks
):
    with receiving(status=500) as receiver:
        webhook, _ = hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.attempts == 1 and delivery.last_status_code == 500
        assert (
            "HTTP 500" in delivery.last_error
            and "receiver broke" in delivery.last_error
        )
        first_try = delivery.log.get().at
        assert delivery.next_attempt_at - first_try < timedelta(minutes=1, seconds=5)
        # Nothing is due before the pause: a sweep sends nothing.
        assert send_all_due().claimed == 0
        # The pauses double: walk the clock through a day of retries.
        now = timezone.now()
        pauses = []
        while True:
            delivery.refresh_from_db()
            if delivery.status != WebhookDelivery.Status.PENDING:
                break
            pauses.append(delivery.next_attempt_at - now)
            now = delivery.next_attempt_at
            send_all_due(now=now)
        assert len(receiver.snapshot()) == delivery.attempts
    assert [round(p.total_seconds() / 60) for p in pauses[1:5]] == [2, 4, 8, 16]
    assert max(pauses) <= timedelta(hours=4, minutes=1)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert now - delivery.created_at >= timedelta(hours=20)
    webhook.refresh_from_db()
    assert not webhook.is_active
    assert "every delivery failed" in webhook.disabled_reason
    [email] = mail.outbox
    assert email.to == ["alice@acme.test"]  # the owner; Bob is a member
    assert webhook.url in email.body and "HTTP 500" in email.body
    page = (
        login(alice).get(reverse("webhook_detail", args=[webhook.pk])).content.decode()
    )
    assert "This webhook is off" in page and "HTTP 500" in page


def test_a_receiver_that_hangs_times_out_and_is_recorded(
    org, alice, period, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_TIMEOUT = 0.5
    with receiving(hang=5) as receiver:
        hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "timed out" in delivery.last_error.lower()
    attempt = delivery.log.get()
    assert attempt.status_code is None and attempt.duration_ms >= 400


def test_redeliver_sends_the_same_event_again(
    org, alice, period, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        webhook, secret = hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
        delivery = WebhookDelivery.objects.get()
        client = login(alice)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("webhook_redeliver", args=[delivery.pk]))
        assert response.status_code == 302
        first, second = receiver.snapshot()
    assert first.headers["Landmark-Delivery"] == second.headers["Landmark-Delivery"]
    assert first.body == second.body
    assert signed_by(second, secret)
    manual = WebhookAttempt.objects.filter(delivery=delivery).order_by("at", "pk")
    assert [a.manual for a in manual] == [False, True]
    page = client.get(reverse("webhook_detail", args=[webhook.pk])).content.decode()
    assert "(redelivered)" in page


def test_private_addresses_are_refused_at_save_and_at_send(
    org, alice, period, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    client = login(alice)
    with receiving() as receiver:
        response = client.post(
            reverse("webhooks"), {"url": receiver.url, "events": ["objective.created"]}
        )
        assert response.status_code == 200
        assert "Landmark does not connect to 127.0.0.1" in response.content.decode()
        assert not Webhook.objects.exists()  # nothing half-saved
        for url in ["http://169.254.169.254/latest/meta-data", "ftp://example.com/x"]:
            with pytest.raises(Exception) as refused:
                actions.create_webhook(org=org, url=url, events=["objective.created"])
            assert "url" in refused.value.message_dict  # type: ignore[attr-defined]
        # Allowed when saved; the operator's allowance is gone when it is sent.
        settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
        hook(org, receiver.url)
        settings.OUTBOUND_ALLOWED_HOSTS = []
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
        assert receiver.snapshot() == []
    delivery = WebhookDelivery.objects.get()
    assert "Landmark does not connect to 127.0.0.1" in delivery.last_error
    assert delivery.status == WebhookDelivery.Status.PENDING


def test_bad_input_is_shown_next_to_the_field(org, alice):
    response = login(alice).post(reverse("webhooks"), {"url": "", "events": []})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("field-error") >= 2
    assert not Webhook.objects.exists()


def test_another_organizations_webhook_is_a_404_and_never_listed(
    org, other_org, alice, charlie, bob, period, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        hook(other_org, receiver.url + "?theirs")
        mine, _ = hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
    delivery = WebhookDelivery.objects.get(webhook=mine)
    charlie_client = login(charlie)
    for name, pk in [
        ("webhook_detail", mine.pk),
        ("webhook_delete", mine.pk),
        ("webhook_redeliver", delivery.pk),
    ]:
        assert charlie_client.post(reverse(name, args=[pk])).status_code == 404
    assert Webhook.objects.filter(pk=mine.pk).exists()
    listing = login(alice).get(reverse("webhooks")).content.decode()
    assert "?theirs" not in listing and receiver.url in listing
    # A member of the organization may not see its webhooks.
    assert login(bob).get(reverse("webhooks")).status_code == 403
    assert login(bob).get(reverse("webhook_detail", args=[mine.pk])).status_code == 403


def test_payload_is_compact_json_with_sorted_keys(
    org, alice, period, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        hook(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(org=org, period=period, owner=alice, title="X")
        [request] = receiver.snapshot()
    assert (
        request.body
        == json.dumps(request.json(), separators=(",", ":"), sort_keys=True).encode()
    )
