"""GET and PATCH /api/v1/organization: the settings of Settings → Organization, the
same checks (one form), problem+json for bad input, admins only for writes."""

from decimal import Decimal

import pytest

from landmark.orgs.models import Organization

URL = "/api/v1/organization"


def fresh(org: Organization) -> Organization:
    return Organization.objects.get(pk=org.pk)


def test_everyone_reads_the_settings_with_an_etag(bob_api, org):
    response = bob_api.send("GET", URL)

    assert response.status_code == 200
    assert response["ETag"]
    body = response.json()
    assert body["name"] == org.name
    assert body["role"] == "member"
    assert (body["time_zone"], body["week_start"]) == ("UTC", "monday")
    assert (body["on_track_gap"], body["off_track_gap"]) == (0.10, 0.25)
    assert (body["checkin_cadence_days"], body["checkin_grace_days"]) == (7, 3)


def test_an_admin_changes_the_settings_and_the_history_names_them(
    alice_api, alice, org
):
    response = alice_api.send(
        "PATCH",
        URL,
        {
            "time_zone": "America/Chicago",
            "week_start": "sunday",
            "on_track_gap": "0.05",
            "off_track_gap": 0.4,
            "checkin_grace_days": 1,
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["time_zone"], body["week_start"]) == ("America/Chicago", "sunday")
    assert (body["on_track_gap"], body["off_track_gap"]) == (0.05, 0.4)
    saved = fresh(org)
    assert (saved.time_zone, saved.week_start, saved.checkin_grace_days) == (
        "America/Chicago",
        6,
        1,
    )
    assert (saved.on_track_gap, saved.off_track_gap) == (
        Decimal("0.05"),
        Decimal("0.40"),
    )
    assert saved.name == org.name  # left out, left as it was
    latest = Organization.history.filter(id=org.pk).latest()
    assert latest.history_user_id == alice.pk  # a token call names its owner too


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"on_track_gap": "0.30"},
            "off_track_gap",
            "Must be larger than the on-track gap (0.30)",
        ),
        ({"off_track_gap": "1.01"}, "off_track_gap", "at most 1"),
        ({"on_track_gap": "-0.01"}, "on_track_gap", "between 0 and 1"),
        ({"on_track_gap": "0.051"}, "on_track_gap", "decimal places"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Not a time zone"),
        ({"week_start": "someday"}, "week_start", "monday"),
        ({"week_start": 0}, "week_start", "monday"),
        ({"checkin_cadence_days": 0}, "checkin_cadence_days", "greater than"),
        ({"checkin_grace_days": 31}, "checkin_grace_days", "less than"),
        ({"name": "   "}, "name", "String should match pattern"),
        ({"slug": "taken"}, "slug", "Extra inputs"),
        ({"on_track_gap": None}, "on_track_gap", ""),
    ],
)
def test_bad_settings_are_problems_naming_the_field_and_nothing_is_saved(
    alice_api, org, body, field, message
):
    before = Organization.objects.filter(pk=org.pk).values().get()

    response = alice_api.send("PATCH", URL, body)

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:landmark:problem:validation"
    assert any(
        e["field"] == field and message in e["message"] for e in problem["errors"]
    ), problem
    assert Organization.objects.filter(pk=org.pk).values().get() == before


def test_only_admins_change_the_settings(bob_api, viewer_api, org):
    for client in (bob_api, viewer_api):
        response = client.send("PATCH", URL, {"time_zone": "Asia/Tokyo"})
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
    assert fresh(org).time_zone == "UTC"


def test_a_stale_if_match_is_412_and_saves_nothing(alice_api, org):
    etag = alice_api.send("GET", URL)["ETag"]
    first = alice_api.send("PATCH", URL, {"checkin_grace_days": 5}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert first["ETag"] != etag

    stale = alice_api.send("PATCH", URL, {"checkin_grace_days": 6}, HTTP_IF_MATCH=etag)

    assert stale.status_code == 412
    assert fresh(org).checkin_grace_days == 5
