"""The comments API: threads on objectives, key results and KPIs, the same rules as
the web (length, mentions, privacy, authors), errors as problem+json, and the
`comment.created` webhook event."""

import pytest
from django.core import mail
from django.urls import reverse

from landmark.api.tests.conftest import api_client
from landmark.comments.models import Comment
from landmark.conftest import make_member
from landmark.hooks import actions as hook_actions
from landmark.hooks.models import WebhookDelivery
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.notify.models import Notification
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective
from landmark.orgs.models import Membership

PROBLEM = "application/problem+json"


@pytest.fixture
def kpi(org, alice):
    return kpi_actions.create_kpi(
        org=org, name="Churn", owner=alice, frequency=KPI.Frequency.MONTHLY
    )


def test_a_thread_through_the_api(
    objective, key_results, kpi, bob, alice, django_capture_on_commit_callbacks
):
    client = api_client(bob)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.send(
            "POST",
            f"/api/v1/objectives/{objective.pk}/comments",
            {"body": "Line one\nLine two, @alice"},
        )
    on_kr = client.send(
        "POST", f"/api/v1/key-results/{key_results[0].pk}/comments", {"body": "KR"}
    )
    on_kpi = client.send("POST", f"/api/v1/kpis/{kpi.pk}/comments", {"body": "KPI"})

    assert first.status_code == on_kr.status_code == on_kpi.status_code == 201
    made = first.json()
    assert made["body"] == "Line one\nLine two, @alice"
    assert made["author_name"] == "Bob Brown"
    assert first["Location"] == f"/api/v1/comments/{made['id']}"
    assert on_kr.json()["key_result_id"] == key_results[0].pk
    assert on_kr.json()["objective_id"] == objective.pk
    assert on_kpi.json()["kpi_id"] == kpi.pk
    [note] = Notification.objects.filter(recipient=alice, kind="mention")
    assert note.body == "Line one\nLine two, @alice"
    assert len(mail.outbox) == 1
    listed = client.send("GET", f"/api/v1/objectives/{objective.pk}/comments").json()
    assert [c["body"] for c in listed["items"]] == [made["body"], "KR"]
    only_kr = client.send(
        "GET", f"/api/v1/key-results/{key_results[0].pk}/comments"
    ).json()
    assert [c["body"] for c in only_kr["items"]] == ["KR"]
    kpis = client.send("GET", f"/api/v1/kpis/{kpi.pk}/comments").json()
    assert [c["body"] for c in kpis["items"]] == ["KPI"]


def test_edit_and_delete_follow_the_rules(objective, bob, alice, org):
    bobs = api_client(bob)
    made = bobs.send(
        "POST", f"/api/v1/objectives/{objective.pk}/comments", {"body": "Mine"}
    ).json()
    url = f"/api/v1/comments/{made['id']}"
    tina = make_member(org, "tina@acme.test", Membership.Role.MEMBER, "Tina Lead")

    by_admin = api_client(alice).send("PATCH", url, {"body": "Admin's"})
    by_tina = api_client(tina).send("DELETE", url)
    edited = bobs.send("PATCH", url, {"body": "Mine, edited"})

    assert by_admin.status_code == by_tina.status_code == 403
    assert by_admin["Content-Type"] == PROBLEM
    assert by_admin.json()["detail"] == "Only its author can edit a comment."
    assert edited.status_code == 200
    assert edited.json()["body"] == "Mine, edited"
    assert edited.json()["edited_at"] is not None
    stale = bobs.send("PATCH", url, {"body": "again"}, HTTP_IF_MATCH='"nope"')
    assert stale.status_code == 412
    assert api_client(alice).send("DELETE", url).status_code == 204
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"body": ""}, "Write something first."),
        ({"body": "x" * 4001}, "at most 4,000 characters (this one has 4,001)"),
        ({"body": "a\x00b"}, ""),
        ({"body": 12}, ""),
        ({}, ""),
        ({"body": "hi", "extra": 1}, ""),
    ],
)
def test_bad_input_is_a_clear_problem(objective, bob, body, detail):
    response = api_client(bob).send(
        "POST", f"/api/v1/objectives/{objective.pk}/comments", body
    )

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    errors = response.json()["errors"]
    assert errors and all(e["field"] in {"body", "extra"} for e in errors), errors
    assert detail in " ".join(e["message"] for e in errors)
    assert not Comment.objects.exists()


def test_privacy_and_tenancy(objective, bob, viewer, charlie, other_org, org):
    okr_actions.update_objective(
        objective=objective, visibility=Objective.Visibility.PRIVATE
    )
    dana = make_member(org, "dana@acme.test", Membership.Role.MEMBER, "Dana Doe")
    url = f"/api/v1/objectives/{objective.pk}/comments"

    refused = api_client(bob).send("POST", url, {"body": "@dana look"})
    hidden = api_client(dana).send("GET", url)
    other = api_client(charlie).send("GET", url)
    viewer_post = api_client(viewer).send("POST", url, {"body": "hi"})

    assert refused.status_code == 422
    assert (
        "Dana Doe may not open this private objective"
        in (refused.json()["errors"][0]["message"])
    )
    assert hidden.status_code == other.status_code == 404
    # A viewer outside Sales may not open it either: hidden before read-only.
    assert viewer_post.status_code == 404
    assert not Comment.objects.exists()
    assert not Notification.objects.filter(kind="mention").exists()


def test_a_comment_is_a_webhook_event(objective, bob, alice, org):
    hook_actions.create_webhook(
        org=org, url="http://127.0.0.1:9/hook", events=["comment.created"]
    )

    made = api_client(bob).send(
        "POST", f"/api/v1/objectives/{objective.pk}/comments", {"body": "Ping"}
    )

    [delivery] = WebhookDelivery.objects.filter(event="comment.created")
    data = delivery.payload["data"]["comment"]
    assert data["id"] == made.json()["id"]
    assert data["body"] == "Ping"
    assert data["objective_id"] == objective.pk
    assert data["url"].endswith(f"/objectives/{objective.pk}/#comment-{data['id']}")


def test_the_mention_kind_is_on_the_settings_page(bob_client):
    page = bob_client.get(reverse("notification_settings")).content.decode()
    assert "Mentions" in page
    assert "@mentions you in a comment" in page
