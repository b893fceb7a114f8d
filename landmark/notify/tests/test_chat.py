"""Chat rooms through Apprise, posting to a real loopback HTTP receiver as a generic
JSON webhook, as Mattermost and as Slack, and over HTTPS to Microsoft Teams' and
Google Chat's own addresses (tunnelled to a loopback TLS server); the SSRF guard
before every post; the delivery engine's retries and dedupe; tenant isolation."""

from typing import Any

import pytest
from apprise.plugins.slack import NotifySlack
from django.core.exceptions import ValidationError
from django.urls import reverse

from landmark.conftest import login
from landmark.hooks.tests.receiver import receiving
from landmark.kpis import actions as kpi_actions
from landmark.lib.tests.loopback import (
    DNSServer,
    TunnelProxy,
    WebServer,
    self_signed_certificate,
    send,
)
from landmark.notify import actions
from landmark.notify.chat_actions import save_room, send_test
from landmark.notify.delivery import deliver_all_due
from landmark.notify.models import ChatPost, ChatRoom, Delivery
from landmark.orgs.models import TeamMember

REMINDER = "checkin_reminder"


def note(user: Any, key: str = "chat-1", kind: str = REMINDER) -> actions.Note:
    return actions.Note(
        recipient_id=user.pk,
        kind=kind,
        dedupe_key=key,
        title="2 key results wait for your check-in",
        body="Sign customers, Launch beta",
        url="/focus/",
    )


def room(
    org: Any,
    url: str,
    service: str = "json",
    kinds: tuple[str, ...] = (REMINDER,),
    team: Any = None,
    name: str = "Sales room",
) -> ChatRoom:
    return save_room(
        org=org,
        room=None,
        name=name,
        service=service,
        url=url,
        kinds=kinds,
        team=team,
    )


def test_a_notification_is_posted_as_json_once_whatever_reruns(
    org, bob, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        made = room(org, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob)])
        assert deliver_all_due().claimed == 0
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob)])  # the same event again
        [request] = receiver.snapshot()
    assert request.path == "/hook"
    body = request.json()
    assert body["title"] == f"[{org.name}] 2 key results wait for your check-in"
    assert "For Bob" in body["message"] and "Sign customers" in body["message"]
    assert body["message"].rstrip().endswith("/focus/")
    delivery = Delivery.objects.get(channel="chat")
    assert delivery.status == Delivery.Status.SENT
    assert ChatPost.objects.filter(room=made).count() == 1


def test_mattermost_and_slack_through_apprise(
    org, bob, monkeypatch, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        room(
            org,
            f"http://127.0.0.1:{receiver.port}/hooks/abcdefghijklmnopqrstuvwxyz",
            service="mattermost",
            name="Mattermost",
        )
        # Apprise posts Slack's webhooks to hooks.slack.com; here to the receiver.
        monkeypatch.setattr(
            NotifySlack, "webhook_url", f"http://127.0.0.1:{receiver.port}/services"
        )
        room(
            org,
            "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
            service="slack",
            name="Slack",
        )
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob)])
        got = {r.path: r.json() for r in receiver.snapshot()}
    mattermost = got["/hooks/abcdefghijklmnopqrstuvwxyz"]
    assert "2 key results wait for your check-in" in mattermost["text"]
    slack = got["/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"]
    assert "2 key results wait for your check-in" in str(slack)


TEAMS_HOST = "prod-42.westeurope.logic.azure.com"
GCHAT_HOST = "chat.googleapis.com"


def test_teams_and_google_chat_over_https_at_their_own_addresses(
    org, bob, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """Apprise posts to the services' real host names over verified TLS: an HTTPS
    proxy tunnels those names to a loopback server holding a certificate for them."""
    cert, key = self_signed_certificate(tmp_path, TEAMS_HOST, GCHAT_HOST)
    services = WebServer()
    services.use_tls(cert, key)
    dns = DNSServer()
    dns.answers = {TEAMS_HOST: [["127.0.0.1"]], GCHAT_HOST: [["127.0.0.1"]]}
    settings.OUTBOUND_NAMESERVERS = [dns.address]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with (
        services.running(),
        dns.running(),
        TunnelProxy(services.port).running() as proxy,
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        services.routes["/workflows/abc123def456/triggers/manual/paths/invoke"] = (
            lambda h: send(h, b"", status=202)
        )
        services.routes["/v1/spaces/AAAAk6lGXyM/messages"] = lambda h: send(h, b"{}")
        room(
            org,
            f"https://{TEAMS_HOST}:443/workflows/abc123def456/triggers/manual/paths/"
            "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
            "&sig=s1gnature",
            service="teams",
            name="Teams",
        )
        room(
            org,
            f"https://{GCHAT_HOST}/v1/spaces/AAAAk6lGXyM/messages?key=k3y&token=t0ken",
            service="google_chat",
            name="Google Chat",
        )
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob)])
        hits = {
            path.partition("?")[0]: (path, host, body)
            for path, host, body in services.hits
        }
    assert sorted(proxy.tunnels) == [f"{GCHAT_HOST}:443", f"{TEAMS_HOST}:443"]
    teams_path, teams_host, teams_body = hits[
        "/workflows/abc123def456/triggers/manual/paths/invoke"
    ]
    assert teams_host == TEAMS_HOST and "sig=s1gnature" in teams_path
    card = teams_body.decode()
    assert "2 key results wait for your check-in" in card and "AdaptiveCard" in card
    gchat_path, gchat_host, gchat_body = hits["/v1/spaces/AAAAk6lGXyM/messages"]
    assert gchat_host == GCHAT_HOST and "token=t0ken" in gchat_path
    assert "2 key results wait for your check-in" in gchat_body.decode()
    assert "Sign customers" in gchat_body.decode()
    assert sorted(
        ChatPost.objects.filter(room__organization=org).values_list(
            "room__service", flat=True
        )
    ) == ["google_chat", "teams"]
    assert Delivery.objects.get(channel="chat").status == Delivery.Status.SENT


def test_a_room_that_fails_is_retried_without_posting_twice_in_the_others(
    org, bob, django_capture_on_commit_callbacks
):
    with receiving() as good, receiving(status=500) as bad:
        room(org, good.url, name="Good")
        broken = room(org, bad.url, name="Broken")
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob)])
        delivery = Delivery.objects.get(channel="chat")
        assert delivery.status == Delivery.Status.PENDING
        assert "Broken" in delivery.last_error
        broken.refresh_from_db()
        assert broken.last_error
        bad.status = 200
        deliver_all_due(now=delivery.next_attempt_at)
        assert len(good.snapshot()) == 1  # not again
        assert len(bad.snapshot()) == 2
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT


def test_rooms_take_their_kinds_teams_and_people_s_choices(
    org, bob, alice, sales, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        room(org, receiver.url + "?team", team=sales, name="Sales only")
        room(org, receiver.url, kinds=("checkin_escalation",), name="Escalations")
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(alice, key="a")])  # not in Sales
        assert receiver.snapshot() == []
        assert not Delivery.objects.filter(channel="chat").exists() or all(
            d.status == Delivery.Status.SENT
            for d in Delivery.objects.filter(channel="chat")
        )
        # Bob turns chat off for reminders: not posted about.
        actions.set_preferences(
            org=org, user_id=bob.pk, choices={(REMINDER, "chat"): False}
        )
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(org=org, notes=[note(bob, key="b")])
        assert receiver.snapshot() == []


def test_no_chat_delivery_where_no_room_takes_the_kind(org, bob):
    actions.notify(org=org, notes=[note(bob)])
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["email"]


def test_addresses_are_checked_for_the_service_and_by_the_ssrf_guard(org, settings):
    with pytest.raises(ValidationError) as wrong:
        room(org, "https://example.com/not-slack", service="slack")
    assert "not a Slack webhook address" in str(wrong.value)
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError) as private:
        room(org, "http://127.0.0.1:9/hook")
    assert "Landmark does not connect to 127.0.0.1" in str(private.value)
    assert not ChatRoom.objects.exists()


def test_the_guard_refuses_at_send_time_too(org, bob, settings):
    with receiving() as receiver:
        made = room(org, receiver.url)
        settings.OUTBOUND_ALLOWED_HOSTS = []
        error = send_test(room=made)
        assert receiver.snapshot() == []
    assert "Landmark does not connect to 127.0.0.1" in error
    made.refresh_from_db()
    assert made.last_error == error


def test_the_test_button_posts_and_says_so(org, alice):
    client = login(alice)
    with receiving() as receiver:
        response = client.post(
            reverse("chat_rooms"),
            {
                "name": "General",
                "service": "json",
                "url": receiver.url,
                "kinds": [REMINDER],
                "is_active": "on",
            },
        )
        made = ChatRoom.objects.get(organization=org)
        assert response["Location"] == reverse("chat_room", args=[made.pk])
        page = client.post(reverse("chat_room_test", args=[made.pk]), follow=True)
        [request] = receiver.snapshot()
    assert "Test message from Landmark" in request.json()["title"]
    assert "Test message posted in General" in page.content.decode()
    # The address is stored encrypted and never shown again.
    assert made.url is not None and receiver.url == made.url.reveal()
    assert (
        str(receiver.port)
        not in client.get(reverse("chat_room", args=[made.pk])).content.decode()
    )


def test_bad_input_next_to_the_fields(org, alice):
    client = login(alice)
    empty = client.post(
        reverse("chat_rooms"),
        {"name": "", "service": "slack", "url": "https://example.com/x", "kinds": []},
    ).content.decode()
    assert empty.count("field-error") >= 2
    response = client.post(
        reverse("chat_rooms"),
        {
            "name": "General",
            "service": "slack",
            "url": "https://example.com/x",
            "kinds": [REMINDER],
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="field-url"' in page and "not a Slack webhook address" in page
    assert not ChatRoom.objects.exists()


def test_another_organizations_room_is_a_404(org, other_org, charlie, bob):
    with receiving() as receiver:
        theirs = room(other_org, receiver.url)
    for name in ["chat_room", "chat_room_delete", "chat_room_test"]:
        assert login(bob).post(reverse(name, args=[theirs.pk])).status_code == 404
    assert login(bob).get(reverse("chat_rooms")).status_code == 403
    assert ChatRoom.objects.filter(pk=theirs.pk).exists()


def test_a_room_hears_of_a_private_kpi_only_if_its_audience_may_see_it(
    org, bob, sales, django_capture_on_commit_callbacks
):
    """A room is wider than the person notified: a private KPI's name and value reach
    the room of the KPI's team, never the organization's room (whose readers include
    members who may not see it); a public KPI's reach both."""
    TeamMember.objects.create(organization=org, team=sales, user=bob)
    private = kpi_actions.create_kpi(
        org=org, name="Churn of key accounts", team=sales, visibility="private"
    )
    public = kpi_actions.create_kpi(org=org, name="Signups", team=sales)
    kinds = ("kpi_unhealthy",)
    with receiving() as everyone, receiving() as team_room:
        room(org, everyone.url, kinds=kinds, name="Company room")
        room(org, team_room.url, kinds=kinds, team=sales, name="Sales room")
        with django_capture_on_commit_callbacks(execute=True):
            actions.notify(
                org=org,
                notes=[
                    actions.Note(
                        recipient_id=bob.pk,
                        kind="kpi_unhealthy",
                        dedupe_key=f"alert-{kpi.pk}",
                        title=f"{kpi.name} turned unhealthy",
                        body=f"{kpi.name} is unhealthy (current value: 7.3).",
                        url=reverse("kpi", args=[kpi.pk]),
                    )
                    for kpi in (private, public)
                ],
            )
        company = [r.json() for r in everyone.snapshot()]
        sales_posts = [r.json() for r in team_room.snapshot()]
    assert len(company) == len(sales_posts) == 2
    titles = sorted(p["title"] for p in company)
    assert titles == [
        f"[{org.name}] A notification for Bob Brown",
        f"[{org.name}] Signups turned unhealthy",
    ]
    [redacted] = [p for p in company if "A notification for" in p["title"]]
    assert "Churn" not in redacted["message"] and "7.3" not in redacted["message"]
    assert sorted(p["title"] for p in sales_posts) == [
        f"[{org.name}] Churn of key accounts turned unhealthy",
        f"[{org.name}] Signups turned unhealthy",
    ]
    # The redacted post still links to the KPI: a reader who may see it opens it.
    assert redacted["message"].rstrip().endswith(reverse("kpi", args=[private.pk]))
