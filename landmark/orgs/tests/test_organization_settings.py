"""Settings → Organization: every member reads it, admins change it; each change is
in the organization's history; and the settings do what they say (pace thresholds
move an objective's status, the time zone moves the reminders, the week start moves
"checked in this week")."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period, week_start
from landmark.orgs import actions
from landmark.orgs.models import Organization

D = Decimal

VALID = {
    "name": "Acme Test",
    "time_zone": "UTC",
    "week_start": "0",
    "on_track_gap": "0.10",
    "off_track_gap": "0.25",
    "checkin_cadence_days": "7",
    "checkin_grace_days": "3",
    "locale": "en_US",
    # The coach's rules (all on) and numbers, as the page shows them.
    "coach_min_key_results": "2",
    "coach_max_key_results": "5",
    "coach_max_team_objectives": "5",
    "coach_max_key_kpis": "5",
}


def html(response) -> str:
    return response.content.decode()


def field_block(page: str, name: str) -> str:
    """The markup of one field (its label, input, help and errors)."""
    start = page.index(f'id="field-{name}"')
    return page[start : page.index("</div>", start)]


def settings_of(org: Organization) -> dict[str, object]:
    org = Organization.objects.get(pk=org.pk)
    return {name: getattr(org, name) for name in actions.SETTINGS}


def post(client, **changes: str):
    return client.post(reverse("organization_settings"), {**VALID, **changes})


def test_an_admin_changes_the_settings_and_sees_who_changed_what(alice_client, org):
    response = post(
        alice_client,
        name="Acme Corp",
        time_zone="Europe/Paris",
        week_start="6",
        on_track_gap="0.05",
        off_track_gap="0.20",
        checkin_cadence_days="14",
        checkin_grace_days="2",
        locale="de_DE",
    )

    assert response.status_code == 302
    assert settings_of(org) == {
        "name": "Acme Corp",
        "time_zone": "Europe/Paris",
        "week_start": 6,
        "on_track_gap": D("0.05"),
        "off_track_gap": D("0.20"),
        "checkin_cadence_days": 14,
        "checkin_grace_days": 2,
        "locale": "de_DE",
        "coach_rules_off": "",
        "coach_min_key_results": 2,
        "coach_max_key_results": 5,
        "coach_max_team_objectives": 5,
        "coach_max_key_kpis": 5,
    }
    page = html(alice_client.get(reverse("organization_settings")))
    assert "Organization settings saved." in page
    assert '<option value="Europe/Paris" selected>' in page
    changes = page[page.index('data-testid="settings-changes"') :]
    assert "alice" in changes.split("</strong>")[0].lower()
    for line in (
        "Name: Acme Test → Acme Corp",
        "Time zone: UTC → Europe/Paris",
        "Week starts on: Monday → Sunday",
        "On-track gap: 0.10 → 0.05",
        "Off-track gap: 0.25 → 0.20",
        "Check-in cadence (days): 7 → 14",
        "Grace (days): 3 → 2",
        "Number format: en_US → de_DE",
    ):
        assert line in changes, line
    # The organization's activity log lists it too.
    log = html(alice_client.get(reverse("organization_log")))
    assert "the time zone from UTC to Europe/Paris" in " ".join(
        re.sub(r"<[^>]+>", " ", log).split()
    )


def test_saving_unchanged_settings_records_no_change(alice_client, org):
    assert post(alice_client).status_code == 302

    assert Organization.history.filter(id=org.pk, history_type="~").count() == 0
    page = html(alice_client.get(reverse("organization_settings")))
    assert "No changes since the organization was created." in page


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("on_track_gap", {"on_track_gap": "-0.05"}, "between 0 and 1"),
        ("off_track_gap", {"off_track_gap": "1.5"}, "at most 1"),
        ("off_track_gap", {"off_track_gap": "0"}, "above 0"),
        (
            "off_track_gap",
            {"on_track_gap": "0.30", "off_track_gap": "0.20"},
            "Must be larger than the on-track gap (0.30)",
        ),
        (
            "off_track_gap",
            {"on_track_gap": "0.20", "off_track_gap": "0.20"},
            "Must be larger than the on-track gap (0.20)",
        ),
        ("on_track_gap", {"on_track_gap": "0.125"}, "no more than 2 decimal places"),
        ("on_track_gap", {"on_track_gap": "lots"}, "Enter a number."),
        ("time_zone", {"time_zone": "Mars/Olympus_Mons"}, "Not a time zone"),
        ("time_zone", {"time_zone": ""}, "This field is required."),
        ("week_start", {"week_start": "7"}, "Select a valid choice."),
        ("name", {"name": "   "}, "This field is required."),
        ("name", {"name": "x" * 121}, "at most 120 characters"),
        ("checkin_cadence_days", {"checkin_cadence_days": "0"}, "greater than or"),
        ("checkin_cadence_days", {"checkin_cadence_days": "9" * 40}, "less than or"),
        ("checkin_grace_days", {"checkin_grace_days": "-1"}, "greater than or"),
        ("locale", {"locale": "xx_YY"}, "Not a locale Landmark knows"),
    ],
)
def test_bad_settings_are_errors_next_to_their_field_and_nothing_is_saved(
    alice_client, org, field, changes, message
):
    before = settings_of(org)

    response = post(alice_client, **{**changes, "name": changes.get("name", "Renamed")})

    assert response.status_code == 200
    assert message in field_block(html(response), field)
    assert settings_of(org) == before
    assert not Organization.history.filter(id=org.pk, history_type="~").exists()


def test_a_member_reads_the_settings_but_cannot_change_them(bob_client, org):
    page = html(bob_client.get(reverse("organization_settings")))

    assert "Only admins can change these settings." in page
    assert re.search(r'<select name="time_zone"[^>]*disabled', page)
    assert re.search(r'<input[^>]*name="on_track_gap"[^>]*disabled', page)
    assert ">Save</button>" not in page
    assert "Recent changes" not in page  # who changed what is for admins

    before = settings_of(org)
    assert post(bob_client, time_zone="Asia/Tokyo").status_code == 403
    assert settings_of(org) == before


def test_another_organization_sees_its_own_settings(charlie_client, org, other_org):
    actions.update_organization(org=org, by=None, time_zone="Asia/Tokyo")

    page = html(charlie_client.get(reverse("organization_settings")))

    assert 'value="Other Co"' in page or f'value="{other_org.name}"' in page
    assert '<option value="Asia/Tokyo" selected>' not in page


def test_the_settings_menu_leads_to_the_page(bob_client):
    focus = html(bob_client.get(reverse("focus")))
    menu = focus.split('data-testid="settings-menu"')[1].split("</details>")[0]
    nav = focus.split('<nav aria-label="Main">')[1].split("</nav>")[0]

    assert f'href="{reverse("organization_settings")}"' in menu
    for name in ("members", "teams", "periods"):
        assert f'href="{reverse(name)}"' in menu
        assert f'href="{reverse(name)}"' not in nav
    assert nav.count("<a ") <= 6


# The settings do what they say


@pytest.fixture
def behind(org, bob) -> tuple[Objective, KeyResult]:
    """An objective whose one key result is 17 points behind pace: "needs attention"
    with the default thresholds (−0.25 ≤ d < −0.10), whatever day the test runs."""
    today = timezone.localdate()
    period = okr_actions.create_period(
        org=org,
        name="Rolling quarter",
        start=today - timedelta(days=60),
        end=today + timedelta(days=30),
        state=Period.State.ACTIVE,
    )
    objective = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Open the Lyon office"
    )
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Hire 100 people",
        start=D(0),
        target=D(100),
        start_date=period.start,
    )
    share = kr.time_share(period)
    value = D(round(share * 100 - 17))
    okr_actions.record_checkin(
        key_result=kr, author=bob, value=value, status="on_track"
    )
    return objective, kr


def status_on_pages(client, objective: Objective) -> tuple[str, str]:
    page = html(client.get(reverse("objective", args=[objective.pk])))
    shown = re.search(r'id="objective-status">([^<]+)<', page)
    tree = html(client.get(reverse("tree"), {"period": objective.period_id}))
    node = tree[tree.index(f'data-objective="{objective.pk}"') :]
    in_tree = re.search(r'<span class="status [a-z_]+">([^<]+)</span>', node)
    assert shown is not None and in_tree is not None
    return shown[1], in_tree[1]


def test_the_pace_thresholds_change_an_objectives_status(
    alice_client, bob_client, behind
):
    objective, _ = behind
    assert status_on_pages(bob_client, objective) == ("Needs attention",) * 2

    post(alice_client, on_track_gap="0.20", off_track_gap="0.50")
    assert status_on_pages(bob_client, objective) == ("On track",) * 2

    post(alice_client, on_track_gap="0.05", off_track_gap="0.15")
    assert status_on_pages(bob_client, objective) == ("Off track",) * 2


def next_reminder(client) -> datetime:
    page = html(client.get(reverse("reminder_settings")))
    found = re.search(r'<time datetime="([^"]+)" data-testid="next-reminder"', page)
    assert found is not None
    return datetime.fromisoformat(found[1])


def test_the_time_zone_moves_the_next_reminder(alice_client, org):
    before = next_reminder(alice_client)  # Monday 09:00 UTC
    assert (before.weekday(), before.hour, before.utcoffset()) == (0, 9, timedelta(0))

    post(alice_client, time_zone="Asia/Tokyo")

    after = next_reminder(alice_client)
    local = after.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert after.astimezone(ZoneInfo("UTC")).hour == 0  # 09:00 in Tokyo
    assert after != before
    assert timezone.now() < after <= timezone.now() + timedelta(days=7)
    page = html(alice_client.get(reverse("reminder_settings")))
    assert "<strong>Asia/Tokyo</strong>" in page


def test_the_week_start_decides_what_checked_in_this_week_means(
    alice_client, bob_client, org, behind
):
    _, kr = behind
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    KeyResult.objects.filter(pk=kr.pk).update(last_checkin_at=yesterday)
    local = timezone.localtime(now, ZoneInfo(org.time_zone))

    def focus_count() -> int:
        page = html(bob_client.get(reverse("tree")))
        found = re.search(r'id="focus-count"[^>]*>(\d+)<', page)
        return int(found[1]) if found else 0

    post(alice_client, week_start=str(local.weekday()))  # the week began today
    assert focus_count() == 1
    post(alice_client, week_start=str((local.weekday() - 1) % 7))  # yesterday
    assert focus_count() == 0


def test_the_week_starts_at_midnight_of_its_first_day_in_the_organizations_zone():
    org = Organization(time_zone="Pacific/Auckland", week_start=6)  # Sunday
    # Sunday 6 December 2026, 23:30 UTC is Monday 12:30 in Auckland (NZDT, +13).
    at = datetime(2026, 12, 6, 23, 30, tzinfo=ZoneInfo("UTC"))

    start = week_start(at, org)

    assert start == datetime(2026, 12, 6, 0, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert start.astimezone(ZoneInfo("UTC")) == datetime(
        2026, 12, 5, 11, 0, tzinfo=ZoneInfo("UTC")
    )
    org.week_start = 0  # Monday: the week began this (Auckland) morning
    assert week_start(at, org) == datetime(
        2026, 12, 7, 0, 0, tzinfo=ZoneInfo("Pacific/Auckland")
    )
