"""KPI alerts: a KPI's owner and watchers are told once when it turns unhealthy, goes
stale or recovers, only after the change held for the organization's hold time; a
flapping KPI sends one alert; a rerun tells nothing twice. Mail goes to the loopback
SMTP server; the clock moves through the conftest's time-machine."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import login
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.notify import actions
from landmark.notify.alerts import run_kpi_alerts
from landmark.notify.models import KPIAlertState, KPIWatch, Notification
from landmark.notify.tests.smtp import text_of
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, User

ALERTS = ("kpi_unhealthy", "kpi_stale", "kpi_recovered")


def alerts_of(user: User) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, kind__in=ALERTS).order_by(
            "created_at", "pk"
        )
    )


@pytest.fixture
def kpi(org, bob, sales) -> KPI:
    """Daily sign-ups owned by Bob, at least 100 a day (warning down to 90)."""
    return kpi_actions.create_kpi(
        org=org,
        name="Daily sign-ups",
        owner=bob,
        team=sales,
        frequency=KPI.Frequency.DAILY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(100),
        unit="sign-ups",
    )


@pytest.fixture
def dana(org) -> User:
    """A member in no team."""
    user = org_actions.create_member(
        org=org,
        email="dana@acme.test",
        role=Membership.Role.MEMBER,
        full_name="Dana Doe",
        password="correct-horse-battery",
    ).user
    org_actions.mark_email_verified(user=user)
    return user


@pytest.fixture
def at(fixed_clock, django_capture_on_commit_callbacks):
    """Move the clock to `when`, and run something there with its after-commit sends
    (huey's immediate mode: the emails go in this process)."""

    def run(when: datetime, action=run_kpi_alerts):
        fixed_clock.move_to(when, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def record(at, kpi, bob):
    def value(when: datetime, number: int) -> None:
        at(
            when,
            lambda: kpi_actions.record_data_point(
                kpi=kpi, value=Decimal(number), time=when, author=bob
            ),
        )

    return value


def test_it_tells_the_owner_and_watchers_once_after_the_change_held(
    kpi, bob, alice, viewer, smtp_settings, inbox, record, at
):
    actions.set_watching(kpi=kpi, user=alice, watching=True)
    t0 = timezone.now()
    record(t0, 120)
    at(t0 + timedelta(minutes=1))
    assert KPIAlertState.objects.get(kpi=kpi).announced == "ok"  # started silently
    record(t0 + timedelta(minutes=2), 50)  # unhealthy from here
    assert at(t0 + timedelta(minutes=30)) == []  # not held for an hour yet
    assert alerts_of(bob) == []

    told = at(t0 + timedelta(minutes=63))
    assert [(t.kpi_id, t.kind, t.recipients) for t in told] == [
        (kpi.pk, "kpi_unhealthy", 2)
    ]
    [bobs] = alerts_of(bob)
    [alices] = alerts_of(alice)
    assert alerts_of(viewer) == []  # not watching
    assert bobs.title == "Daily sign-ups turned unhealthy"
    assert "current value: 50 sign-ups" in bobs.body
    assert bobs.url == reverse("kpi", args=[kpi.pk])
    fix = bobs.items[1]
    assert fix["title"] == "Fix with an OKR"
    assert fix["url"] == reverse("kpi", args=[kpi.pk]) + "#fix-with-okr"
    assert fix["post"] == reverse("kpi_fix_with_okr", args=[kpi.pk])
    assert alices.title == bobs.title
    mails = inbox.wait_for(2)
    assert sorted(str(m["To"]) for m in mails) == [
        "Alice Adams <alice@acme.test>",
        "Bob Brown <bob@acme.test>",
    ]
    text = text_of(mails[0])
    assert f"http://127.0.0.1:8000/kpis/{kpi.pk}/#fix-with-okr" in text
    assert "Fix with an OKR" in text

    # Run again, and again later: nothing more is written or sent.
    assert at(t0 + timedelta(minutes=64)) == []
    assert at(t0 + timedelta(hours=3)) == []
    assert len(alerts_of(bob)) == 1 and len(alerts_of(alice)) == 1
    assert len(inbox.snapshot()) == 2


def test_a_flapping_kpi_sends_one_alert(kpi, bob, smtp_settings, inbox, record, at):
    t0 = timezone.now()
    record(t0, 120)
    at(t0 + timedelta(minutes=1))
    # Unhealthy and healthy in turn every 20 minutes for four hours, the job running
    # every 10 minutes: no state holds for an hour, nothing is told.
    when = t0 + timedelta(minutes=5)
    for flip in range(12):
        record(when, 50 if flip % 2 == 0 else 120)
        at(when + timedelta(minutes=10))
        when += timedelta(minutes=20)
    assert alerts_of(bob) == []
    # Then it stays unhealthy: one alert an hour later.
    record(when, 40)
    for minutes in (10, 30, 61, 70, 120):
        at(when + timedelta(minutes=minutes))
    assert [n.kind for n in alerts_of(bob)] == ["kpi_unhealthy"]
    # Flapping back to healthy for minutes at a time tells nothing more.
    later = when + timedelta(hours=3)
    for flip in range(6):
        record(later, 120 if flip % 2 == 0 else 30)
        at(later + timedelta(minutes=15))
        later += timedelta(minutes=30)
    assert [n.kind for n in alerts_of(bob)] == ["kpi_unhealthy"]
    assert len(inbox.snapshot()) == 1


def test_a_recovery_is_told_without_fix_with_an_okr(
    kpi, bob, smtp_settings, inbox, record, at
):
    t0 = timezone.now()
    record(t0, 120)
    at(t0 + timedelta(minutes=1))
    record(t0 + timedelta(minutes=2), 50)
    at(t0 + timedelta(minutes=5))
    at(t0 + timedelta(minutes=70))
    record(t0 + timedelta(minutes=80), 130)
    at(t0 + timedelta(minutes=85))
    assert [n.kind for n in alerts_of(bob)] == ["kpi_unhealthy"]
    at(t0 + timedelta(minutes=150))
    _, recovered = alerts_of(bob)
    assert recovered.kind == "kpi_recovered"
    assert recovered.title == "Daily sign-ups recovered"
    assert "is healthy (current value: 130 sign-ups)" in recovered.body
    assert [item["title"] for item in recovered.items] == ["Open Daily sign-ups"]
    mails = inbox.wait_for(2)
    assert [str(m["Subject"]) for m in mails] == [
        "[Acme Test] Daily sign-ups turned unhealthy",
        "[Acme Test] Daily sign-ups recovered",
    ]


def test_a_kpi_without_new_data_goes_stale_then_recovers(
    kpi, bob, smtp_settings, inbox, record, at
):
    t0 = timezone.now()
    record(t0, 120)
    at(t0 + timedelta(minutes=1))
    # Daily: stale a day (the window) and a day (the grace) after its last value.
    stale_from = t0 + timedelta(days=2)
    at(stale_from - timedelta(minutes=1))
    at(stale_from + timedelta(minutes=1))
    assert alerts_of(bob) == []
    at(stale_from + timedelta(minutes=62))
    [stale] = alerts_of(bob)
    assert stale.kind == "kpi_stale"
    assert stale.title == "Daily sign-ups went stale"
    assert stale.items[1]["title"] == "Fix with an OKR"
    # A new healthy value: recovered, an hour later.
    back = stale_from + timedelta(hours=3)
    record(back, 110)
    at(back + timedelta(minutes=61))
    assert [n.kind for n in alerts_of(bob)] == ["kpi_stale", "kpi_recovered"]
    assert len(inbox.wait_for(2)) == 2


def test_with_no_hold_time_the_writing_transaction_tells_it(
    org, kpi, bob, alice, smtp_settings, inbox, record, at
):
    """Hold time 0: the values_changed signal writes the alert in the transaction of
    the new value, sent after it commits; rolled back, nothing is told."""
    actions.save_reminder_settings(
        org=org,
        enabled=True,
        weekday=0,
        at_time=datetime.min.time(),
        every_weeks=1,
        escalate_after=2,
        alert_hold_minutes=0,
    )
    t0 = timezone.now()
    record(t0, 120)
    with pytest.raises(RuntimeError), transaction.atomic():
        kpi_actions.record_data_point(
            kpi=kpi, value=Decimal(10), time=t0 + timedelta(minutes=1), author=alice
        )
        assert [n.kind for n in alerts_of(bob)] == ["kpi_unhealthy"]
        raise RuntimeError("rolled back")
    assert alerts_of(bob) == []
    record(t0 + timedelta(minutes=2), 10)
    assert [n.kind for n in alerts_of(bob)] == ["kpi_unhealthy"]
    assert (
        str(inbox.wait_for(1)[0]["Subject"])
        == "[Acme Test] Daily sign-ups turned unhealthy"
    )
    # The job finds it told.
    assert at(t0 + timedelta(minutes=5)) == []


def test_a_watcher_who_may_not_see_the_kpi_is_not_told(org, kpi, bob, dana, record, at):
    """Dana watches a public KPI, then it turns private (its owner and Sales only):
    Dana, in no team, is told nothing."""
    actions.set_watching(kpi=kpi, user=dana, watching=True)
    kpi_actions.update_kpi(kpi=kpi, visibility=KPI.Visibility.PRIVATE)
    t0 = timezone.now()
    record(t0, 120)
    at(t0 + timedelta(minutes=1))
    record(t0 + timedelta(minutes=2), 50)
    at(t0 + timedelta(minutes=5))
    told = at(t0 + timedelta(minutes=70))
    assert [t.recipients for t in told] == [1]
    assert len(alerts_of(bob)) == 1
    assert alerts_of(dana) == []


def test_alerts_of_one_organization_never_reach_another(
    kpi, bob, charlie, other_org, record, at
):
    other = kpi_actions.create_kpi(
        org=other_org,
        name="Other sign-ups",
        owner=charlie,
        frequency=KPI.Frequency.DAILY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(100),
    )
    t0 = timezone.now()
    record(t0, 50)
    kpi_actions.record_data_point(kpi=other, value=Decimal(50), time=t0, author=charlie)
    at(t0 + timedelta(minutes=1))
    at(t0 + timedelta(minutes=70))
    assert [n.organization_id for n in alerts_of(bob)] == [kpi.organization_id]
    assert [n.organization_id for n in alerts_of(charlie)] == [other_org.pk]
    assert "Other sign-ups" in alerts_of(charlie)[0].title


# The Watch toggle


def test_a_member_watches_and_unwatches_a_kpi_on_its_page(kpi, dana):
    client = login(dana)
    page = client.get(reverse("kpi", args=[kpi.pk])).content.decode()
    assert f'hx-get="{reverse("kpi_watch", args=[kpi.pk])}"' in page
    url = reverse("kpi_watch", args=[kpi.pk])
    fragment = client.get(url).content.decode()
    assert ">Watch</button>" in fragment and 'name="watch" value="1"' in fragment

    response = client.post(url, {"watch": "1"}, headers={"HX-Request": "true"})
    assert ">Watching</button>" in response.content.decode()
    assert KPIWatch.objects.filter(kpi=kpi, user=dana).count() == 1
    client.post(url, {"watch": "1"})  # twice: still one watch
    assert KPIWatch.objects.filter(kpi=kpi, user=dana).count() == 1

    response = client.post(url, {"watch": "0"})
    assert response.status_code == 302
    assert response["Location"] == reverse("kpi", args=[kpi.pk])
    assert not KPIWatch.objects.filter(kpi=kpi, user=dana).exists()


def test_a_viewer_sees_no_toggle_and_may_not_watch(kpi, viewer):
    client = login(viewer)
    url = reverse("kpi_watch", args=[kpi.pk])
    fragment = client.get(url).content.decode()
    assert fragment.strip() == '<span id="kpi-watch"></span>'
    assert client.post(url, {"watch": "1"}).status_code == 403
    assert not KPIWatch.objects.exists()


def test_watching_rejects_bad_input_and_other_organizations(kpi, bob, charlie_client):
    url = reverse("kpi_watch", args=[kpi.pk])
    response = login(bob).post(url, {"watch": "yes"})
    assert response.status_code == 400
    assert "watch=1" in response.content.decode()
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, {"watch": "1"}).status_code == 404
    assert not KPIWatch.objects.exists()


def test_a_private_kpi_of_another_team_cannot_be_watched(kpi, dana):
    kpi_actions.update_kpi(kpi=kpi, visibility=KPI.Visibility.PRIVATE)
    response = login(dana).post(reverse("kpi_watch", args=[kpi.pk]), {"watch": "1"})
    assert response.status_code == 404
    assert not KPIWatch.objects.exists()


def test_the_api_watches_and_unwatches(kpi, dana, charlie, other_org):
    from landmark.api.tests.conftest import api_client

    api = api_client(dana)
    path = f"/api/v1/kpis/{kpi.pk}/watch"
    assert api.get(path).json() == {"watching": False}
    assert api.put(path).json() == {"watching": True}
    assert api.put(path).json() == {"watching": True}
    assert api.get(path).json() == {"watching": True}
    assert KPIWatch.objects.filter(kpi=kpi, user=dana).count() == 1
    assert api.delete(path).json() == {"watching": False}
    assert not KPIWatch.objects.exists()
    outsider = api_client(charlie).put(path)
    assert outsider.status_code == 404
    assert outsider["Content-Type"] == "application/problem+json"


def test_the_in_app_alert_offers_fix_with_an_okr_to_writers_only(
    org, kpi, bob, dana, record, at
):
    # Dana watched as a member, then became a viewer: still told, may not fix.
    actions.set_watching(kpi=kpi, user=dana, watching=True)
    Membership.objects.filter(organization=org, user=dana).update(
        role=Membership.Role.VIEWER
    )
    viewer = dana
    t0 = timezone.now()
    record(t0, 50)
    at(t0 + timedelta(minutes=1))
    at(t0 + timedelta(minutes=70))
    fix = reverse("kpi_fix_with_okr", args=[kpi.pk])
    bobs = login(bob).get(reverse("notifications")).content.decode()
    assert f'action="{fix}"' in bobs
    assert ">Fix with an OKR</button>" in bobs
    viewers = login(viewer).get(reverse("notifications")).content.decode()
    assert f'action="{fix}"' not in viewers
    assert "#fix-with-okr" in viewers  # a link to the KPI page's button instead


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("en_US", "current value: $1.2M"), ("de_DE", "current value: 1,2\xa0Mio.\xa0$")],
)
def test_an_alert_writes_the_value_as_the_pages_do_in_the_organizations_locale(
    org, bob, sales, smtp_settings, inbox, at, locale, shown
):
    org.locale = locale
    org.save(update_fields=["locale"])
    revenue = kpi_actions.create_kpi(
        org=org,
        name="Daily revenue",
        owner=bob,
        team=sales,
        frequency=KPI.Frequency.DAILY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(1500),
        unit="k USD",
    )

    def value(when: datetime, number: str) -> None:
        at(
            when,
            lambda: kpi_actions.record_data_point(
                kpi=revenue, value=Decimal(number), time=when, author=bob
            ),
        )

    t0 = timezone.now()
    value(t0, "1600")
    at(t0 + timedelta(minutes=1))
    value(t0 + timedelta(minutes=2), "1200.4")
    at(t0 + timedelta(minutes=63))

    [alert] = alerts_of(bob)
    assert shown in alert.body
    [mail] = inbox.wait_for(1)
    assert shown in text_of(mail)
    assert "1200.4" not in text_of(mail)
