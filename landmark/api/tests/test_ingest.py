"""POST /api/v1/kpis/points/batch: JSON and CSV batches, all or nothing, every bad
row listed, idempotency keys, scopes and roles, limits, constant statements."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from landmark.api.models import APIToken
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.api.tests.test_query_counts import TOKEN
from landmark.kpis import actions
from landmark.kpis.models import KPI, DataPoint, IngestionRequest, KPIWindow

URL = "/api/v1/kpis/points/batch"
BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
D = Decimal


def make_kpi(org: Any, **fields: Any) -> KPI:
    defaults: dict[str, Any] = {
        "name": "Signups",
        "frequency": KPI.Frequency.DAILY,
        "aggregation": KPI.Aggregation.SUM,
    }
    defaults.update(fields)
    return actions.create_kpi(org=org, **defaults)


@pytest.fixture
def signups(org, alice) -> KPI:
    return make_kpi(org, owner=alice, key="signups")


def push(client: ApiClient, body: Any, key: str | None = None, **extra: Any) -> Any:
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    content_type = extra.pop("content_type", "application/json")
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", URL, data=data, content_type=content_type, **extra)


def problem_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == response.status_code
    return body


def points(kpi: KPI, n: int, start: datetime = BASE) -> dict[str, Any]:
    return {
        "points": [
            {
                "kpi": kpi.pk,
                "time": (start + timedelta(minutes=i)).isoformat(),
                "value": str(i),
            }
            for i in range(n)
        ]
    }


def test_it_saves_a_json_batch_by_id_and_by_key(alice_api, alice, signups):
    response = push(
        alice_api,
        {
            "points": [
                {"kpi": signups.pk, "time": "2025-03-01T09:00:00Z", "value": 1.25},
                {
                    "kpi_key": "signups",
                    "time": "2025-03-01T12:00:00+02:00",
                    "value": "2",
                    "note": "from the CRM",
                },
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "points": 2,
        "created": 2,
        "corrected": 0,
        "unchanged": 0,
    }
    assert sorted(
        DataPoint.objects.values_list("value", "note", "source", "author")
    ) == [
        (D("1.25"), "", "api", alice.pk),
        (D("2"), "from the CRM", "api", alice.pk),
    ]
    assert list(KPIWindow.objects.values_list("start", "value", "count")) == [
        (date(2025, 3, 1), D("3.25"), 2)
    ]


def test_it_saves_a_csv_batch(alice_api, signups):
    body = (
        "kpi_key,time,value,note\n"
        "signups,2025-03-01T09:00:00Z,3,\n"
        "signups,2025-03-02,4,second day\n"
    )
    response = push(alice_api, body, content_type="text/csv")
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert sorted(DataPoint.objects.values_list("value", flat=True)) == [D(3), D(4)]


def test_a_rejected_batch_lists_every_bad_row_and_saves_nothing(
    alice_api, signups, other_org
):
    theirs = make_kpi(other_org, key="theirs")
    response = push(
        alice_api,
        {
            "points": [
                {"kpi": signups.pk, "time": "2025-03-01T09:00:00Z", "value": "1"},
                {"kpi": theirs.pk, "time": "2025-03-01T09:00:00Z", "value": "1"},
                {"kpi": signups.pk, "time": "2025-03-01T09:00:00", "value": "x"},
                {"kpi": signups.pk, "time": "2025-03-01T09:00:00Z", "value": "2"},
            ]
        },
    )
    assert response.status_code == 422
    body = problem_of(response)
    assert body["detail"].startswith("3 points could not be saved, so none was")
    assert [(e["row"], e["field"], e["reason"]) for e in body["errors"]] == [
        (1, "kpi", "unknown KPI"),
        (
            2,
            "time",
            "'2025-03-01T09:00:00' has no time zone; add Z or an offset such as +02:00",
        ),
        (2, "value", "'x' is not a number"),
        (3, "time", "the same KPI and time as row 0; send one value per time"),
    ]
    assert all(e["message"] == e["reason"] for e in body["errors"])
    assert not DataPoint.objects.exists()
    assert not KPIWindow.objects.exists()


def test_csv_errors_name_the_line(alice_api, signups):
    body = f"kpi,time,value\n{signups.pk},2025-03-01,1\n{signups.pk},tomorrow,2\n"
    response = push(alice_api, body, content_type="text/csv")
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in problem_of(response)["errors"]] == [
        (3, "time")
    ]
    assert not DataPoint.objects.exists()


def test_a_csv_whose_quoting_is_off_is_a_422_naming_the_row(alice_api, signups):
    # Before: the open quote swallowed the next rows into its note (201, one point).
    body = (
        "kpi,time,value,note\n"
        f'{signups.pk},2025-03-01,1,"first\n'
        f"{signups.pk},2025-03-02,2,second\n"
        f"{signups.pk},2025-03-03,3,third\n"
    )

    response = push(alice_api, body, content_type="text/csv")

    assert response.status_code == 422
    problem = problem_of(response)
    assert problem["detail"].startswith("1 point could not be saved, so none was")
    assert [(e["row"], e["field"], e["in"]) for e in problem["errors"]] == [
        (2, "(quoting)", "body")
    ]
    assert problem["errors"][0]["message"] == (
        "a quote opens a field that does not end on this line; close the quote "
        '("like this") or remove it'
    )
    assert not DataPoint.objects.exists()


def test_a_csv_row_with_the_wrong_number_of_fields_is_a_422_naming_it(
    alice_api, signups
):
    body = (
        "kpi,time,value,note\n"
        f"{signups.pk},2025-03-01,1,a note, with a comma\n"
        f"{signups.pk},2025-03-02\n"
        f"{signups.pk},2025-03-03,3,fine\n"
    )

    response = push(alice_api, body, content_type="text/csv")

    assert response.status_code == 422
    errors = problem_of(response)["errors"]
    assert [(e["row"], e["field"], e["reason"]) for e in errors] == [
        (2, "(5 columns)", "this line does not have as many columns as the header"),
        (3, "(2 columns)", "this line does not have as many columns as the header"),
    ]
    assert not DataPoint.objects.exists()


def test_another_organizations_kpi_is_unknown_by_id_and_by_key(charlie_api, signups):
    response = push(
        charlie_api,
        {
            "points": [
                {"kpi": signups.pk, "time": "2025-03-01T09:00:00Z", "value": "1"},
                {"kpi_key": "signups", "time": "2025-03-01T09:00:00Z", "value": "1"},
            ]
        },
    )
    assert response.status_code == 422
    assert [e["reason"] for e in problem_of(response)["errors"]] == [
        "unknown KPI",
        "unknown KPI",
    ]
    assert "Signups" not in response.content.decode()
    assert not DataPoint.objects.exists()


def test_replaying_an_idempotency_key_answers_the_same_and_adds_nothing(
    alice_api, signups
):
    body = points(signups, 3)
    first = push(alice_api, body, key="batch-0001")
    again = push(alice_api, body, key="batch-0001")
    assert first.status_code == again.status_code == 201
    assert (
        first.json()
        == again.json()
        == {
            "points": 3,
            "created": 3,
            "corrected": 0,
            "unchanged": 0,
        }
    )
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert DataPoint.objects.count() == 3
    stored = IngestionRequest.objects.get()
    assert stored.token_id == APIToken.objects.get().pk


def test_a_key_reused_with_another_body_is_a_conflict(alice_api, signups):
    push(alice_api, points(signups, 3), key="batch-0001")
    response = push(alice_api, points(signups, 4), key="batch-0001")
    assert response.status_code == 409
    assert "already used for a different request" in problem_of(response)["detail"]
    assert DataPoint.objects.count() == 3


@pytest.mark.parametrize("key", ["", "with space", "é", "x" * 256])
def test_an_invalid_idempotency_key_is_refused(alice_api, signups, key):
    response = push(alice_api, points(signups, 1), key=key)
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["field"] == "Idempotency-Key"
    assert not DataPoint.objects.exists()


def test_a_viewer_may_not_push(viewer_api, signups):
    response = push(viewer_api, points(signups, 1))
    assert response.status_code == 403
    assert (
        problem_of(response)["detail"] == "Your role in this organization is read-only."
    )
    assert not DataPoint.objects.exists()


def test_a_read_only_token_may_not_push(alice, org, signups):
    client = ApiClient(token_for(alice, scope=APIToken.Scope.READ))
    response = push(client, points(signups, 1))
    assert response.status_code == 403
    assert "read-only" in problem_of(response)["detail"]
    assert not DataPoint.objects.exists()


def test_an_anonymous_push_is_401(db, signups):
    response = push(ApiClient(), points(signups, 1))
    assert response.status_code == 401
    problem_of(response)
    assert not DataPoint.objects.exists()


def test_a_member_pushes_to_a_public_kpi(bob_api, bob, signups):
    response = push(bob_api, points(signups, 2))
    assert response.status_code == 201
    assert set(DataPoint.objects.values_list("author", flat=True)) == {bob.pk}


def test_more_than_ten_thousand_points_is_413(alice_api, signups):
    response = push(alice_api, points(signups, 10_001))
    assert response.status_code == 413
    assert problem_of(response)["detail"] == (
        "10,001 points; a batch holds at most 10,000."
    )
    assert not DataPoint.objects.exists()


def test_ten_thousand_points_are_accepted(alice_api, signups):
    response = push(alice_api, points(signups, 10_000))
    assert response.status_code == 201
    assert DataPoint.objects.count() == 10_000


def test_a_body_over_8_mb_is_413(alice_api, signups):
    response = push(alice_api, b'{"points": []}' + b" " * (8 * 1024 * 1024))
    assert response.status_code == 413
    problem_of(response)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        # Not JSON: the 400 of any body that does not parse (docs/api.md#errors).
        ("not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ('{"points": {}}', "application/json", 422),
        ('{"points": []}', "application/json", 422),
        ("time,value\n2025-03-01,1\n", "text/csv", 422),
        ("points=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_problem(
    alice_api, signups, body, content_type, status
):
    response = push(alice_api, body, content_type=content_type)
    assert response.status_code == status
    assert problem_of(response)["detail"]
    assert not DataPoint.objects.exists()


def test_get_is_not_allowed(alice_api):
    response = alice_api.get(URL)
    assert response.status_code == 405
    problem_of(response)


def test_corrections_and_unchanged_values_through_the_api(alice_api, signups):
    actions.record_data_point(kpi=signups, value=D(5), time=BASE)
    actions.record_data_point(kpi=signups, value=D(6), time=BASE + timedelta(minutes=1))
    response = push(
        alice_api,
        {
            "points": [
                {"kpi": signups.pk, "time": BASE.isoformat(), "value": "5.0"},
                {
                    "kpi": signups.pk,
                    "time": (BASE + timedelta(minutes=1)).isoformat(),
                    "value": 7,
                },
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "points": 2,
        "created": 0,
        "corrected": 1,
        "unchanged": 1,
    }
    assert DataPoint.objects.filter(kpi=signups).count() == 3
    assert KPIWindow.objects.get(kpi=signups).value == D(12)


def test_a_batch_of_1000_costs_the_same_statements_as_one_of_100(
    alice_api, signups, django_assert_num_queries
):
    push(alice_api, points(signups, 10))  # warm up: the first request loads more
    # 3 of the 14 + 3: the KPI alerts' look at the KPIs' health (notify.alerts:
    # health, hold time, alert states), the same whatever the batch.
    with django_assert_num_queries(TOKEN + 17) as small:
        assert push(alice_api, points(signups, 100, BASE), key="a").status_code == 201
    with django_assert_num_queries(TOKEN + 17) as large:
        response = push(alice_api, points(signups, 1000, BASE), key="b")
        assert response.status_code == 201
    assert len(small) == len(large)
    assert response.json()["created"] == 900


def test_a_logged_in_browser_session_may_push(alice_client, signups):
    response = alice_client.post(
        URL, data=json.dumps(points(signups, 1)), content_type="application/json"
    )
    assert response.status_code == 201
    assert DataPoint.objects.count() == 1
