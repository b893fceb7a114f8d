"""The webhook operations: the secret once, problem+json for refused addresses, the
delivery log, redelivery, another organization's webhook a 404."""

from landmark.api.tests.conftest import api_client
from landmark.hooks.models import Webhook, WebhookDelivery
from landmark.hooks.signing import verify
from landmark.hooks.tests.receiver import receiving
from landmark.okrs import actions as okr_actions

PROBLEM = "application/problem+json"


def test_create_shows_the_secret_once_then_never(alice_api, org):
    made = alice_api.send(
        "POST",
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["checkin.recorded"]},
    )
    assert made.status_code == 201, made.content
    body = made.json()
    webhook = Webhook.objects.get(organization=org)
    assert made["Location"] == f"/api/v1/webhooks/{webhook.pk}"
    assert body["secret"].startswith("whsec_")
    assert webhook.secret is not None and body["secret"] == webhook.secret.reveal()
    assert body["events"] == ["checkin.recorded"] and body["is_active"] is True
    again = alice_api.get(f"/api/v1/webhooks/{webhook.pk}").json()
    listed = alice_api.get("/api/v1/webhooks").json()["items"]
    assert "secret" not in again and all("secret" not in w for w in listed)
    assert body["secret"] not in str(again) + str(listed)


def test_a_private_address_is_a_problem_naming_the_field(alice_api, settings, org):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    response = alice_api.send(
        "POST",
        "/api/v1/webhooks",
        {"url": "http://10.0.0.7/hook", "events": ["period.closed"]},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert "Landmark does not connect to 10.0.0.7" in error["message"]
    unknown = alice_api.send(
        "POST",
        "/api/v1/webhooks",
        {"url": "https://example.com/h", "events": ["everything"]},
    )
    assert unknown.status_code == 422 and unknown["Content-Type"] == PROBLEM
    assert not Webhook.objects.filter(organization=org).exists()


def test_deliveries_show_attempts_and_redeliver_sends_again(
    alice_api, org, alice, period, django_capture_on_commit_callbacks
):
    with receiving(status=503) as receiver:
        made = alice_api.send(
            "POST",
            "/api/v1/webhooks",
            {"url": receiver.url, "events": ["objective.created"]},
        ).json()
        with django_capture_on_commit_callbacks(execute=True):
            okr_actions.create_objective(
                org=org, period=period, owner=alice, title="Ship it"
            )
        log = alice_api.get(f"/api/v1/webhooks/{made['id']}/deliveries").json()
        [delivery] = log["items"]
        assert delivery["status"] == "pending"
        assert delivery["last_status_code"] == 503
        assert delivery["payload"]["data"]["objective"]["title"] == "Ship it"
        [attempt] = delivery["log"]
        assert attempt["status_code"] == 503 and attempt["manual"] is False
        receiver.status = 200
        with django_capture_on_commit_callbacks(execute=True):
            again = alice_api.send(
                "POST", f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver"
            )
        assert again.status_code == 200
        first, second = receiver.snapshot()
    assert verify(
        made["secret"],
        second.headers["Landmark-Timestamp"],
        second.body,
        second.headers["Landmark-Signature"],
        now=int(second.headers["Landmark-Timestamp"]),
        tolerance=0,
    )
    assert first.body == second.body
    shown = alice_api.get(f"/api/v1/webhooks/{made['id']}/deliveries").json()
    [delivery] = shown["items"]
    assert delivery["status"] == "sent"
    assert [a["status_code"] for a in delivery["log"]] == [200, 503]
    assert [a["manual"] for a in delivery["log"]] == [True, False]


def test_turning_off_and_deleting(alice_api, org):
    made = alice_api.send(
        "POST",
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["member.joined"]},
    ).json()
    off = alice_api.send(
        "PATCH", f"/api/v1/webhooks/{made['id']}", {"is_active": False}
    ).json()
    assert off["is_active"] is False and off["disabled_reason"]
    assert alice_api.send("DELETE", f"/api/v1/webhooks/{made['id']}").status_code == 204
    assert not Webhook.objects.filter(pk=made["id"]).exists()


def test_another_organizations_webhook_is_a_404(alice_api, charlie, other_org):
    theirs = api_client(charlie).send(
        "POST",
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/theirs", "events": ["member.joined"]},
    )
    assert theirs.status_code == 201
    pk = theirs.json()["id"]
    delivery = WebhookDelivery.objects.create(
        organization=other_org,
        webhook_id=pk,
        event_id="x",
        event="member.joined",
        payload={},
        give_up_at=WebhookDelivery._meta.get_field("created_at").default(),
    )
    for method, path in [
        ("GET", f"/api/v1/webhooks/{pk}"),
        ("PATCH", f"/api/v1/webhooks/{pk}"),
        ("DELETE", f"/api/v1/webhooks/{pk}"),
        ("GET", f"/api/v1/webhooks/{pk}/deliveries"),
        ("POST", f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver"),
    ]:
        response = alice_api.send(method, path, {} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == PROBLEM
    assert alice_api.get("/api/v1/webhooks").json()["items"] == []
    assert Webhook.objects.filter(pk=pk).exists()


def test_members_may_not_manage_webhooks(bob, org):
    response = api_client(bob).get("/api/v1/webhooks")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
