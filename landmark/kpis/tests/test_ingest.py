"""Bulk ingestion of data points (landmark.kpis.ingest): checks, all or nothing, the
upsert rule, idempotency keys, per-window values and constant statements."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from landmark.kpis import actions, ingest, windows
from landmark.kpis.ingest import (
    IdempotencyConflict,
    IngestRejected,
    RawPoint,
    ingest_points,
    points_from_csv,
    points_from_json,
)
from landmark.kpis.models import KPI, DataPoint, IngestionRequest, KPIWindow
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult
from landmark.orgs.models import Membership, Organization, User

D = Decimal


def membership(user: User, org: Organization) -> Membership:
    return Membership.objects.select_related("organization", "user").get(
        user=user, organization=org
    )


def make_kpi(org: Organization, **fields: Any) -> KPI:
    defaults: dict[str, Any] = {
        "name": "Signups",
        "frequency": KPI.Frequency.DAILY,
        "aggregation": KPI.Aggregation.SUM,
    }
    defaults.update(fields)
    return actions.create_kpi(org=org, **defaults)


def pts(*rows: dict[str, Any]) -> list[RawPoint]:
    return [RawPoint(row=i, **row) for i, row in enumerate(rows)]


def iso(when: datetime) -> str:
    return when.isoformat()


BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def problems(
    excinfo: pytest.ExceptionInfo[IngestRejected],
) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.reason) for e in excinfo.value.errors]


def window_values(kpi: KPI) -> list[tuple[date, Decimal, int, datetime]]:
    return list(
        KPIWindow.objects.filter(kpi=kpi)
        .order_by("start")
        .values_list("start", "value", "count", "last_time")
    )


def recomputed(kpi: KPI) -> list[tuple[date, Decimal, int, datetime]]:
    """The windows as the single-point action would compute them from scratch."""
    starts = {
        windows.window_of(kpi, t)
        for t in DataPoint.objects.filter(kpi=kpi).values_list("time", flat=True)
    }
    KPIWindow.objects.filter(kpi=kpi).delete()
    actions.recompute_windows(kpi, starts)
    return window_values(kpi)


@pytest.fixture
def alice_m(alice, org) -> Membership:
    return membership(alice, org)


@pytest.fixture
def signups(org, alice) -> KPI:
    return make_kpi(org, owner=alice, key="signups")


# Saving


def test_it_saves_points_by_id_and_by_key_with_their_windows(alice_m, org, signups):
    churn = make_kpi(org, name="Churn", key="churn", aggregation=KPI.Aggregation.LAST)
    result = ingest_points(
        alice_m,
        pts(
            {"kpi": signups.pk, "time": iso(BASE), "value": "3"},
            {"kpi_key": "signups", "time": iso(BASE + timedelta(hours=1)), "value": 4},
            {
                "kpi_key": "churn",
                "time": "2025-03-01T10:00:00+01:00",
                "value": D("1.5"),
            },
            {"kpi": str(churn.pk), "time": "2025-03-02", "value": "2.25", "note": "n"},
        ),
    )
    assert result.status == 201
    assert result.body == {"points": 4, "created": 4, "corrected": 0, "unchanged": 0}
    assert sorted(
        DataPoint.objects.values_list("kpi__key", "value", "source", "author")
    ) == [
        ("churn", D("1.5"), "api", alice_m.user.pk),
        ("churn", D("2.25"), "api", alice_m.user.pk),
        ("signups", D("3"), "api", alice_m.user.pk),
        ("signups", D("4"), "api", alice_m.user.pk),
    ]
    assert [(s, v) for s, v, _, _ in window_values(signups)] == [
        (date(2025, 3, 1), D("7"))
    ]
    assert [(s, v) for s, v, _, _ in window_values(churn)] == [
        (date(2025, 3, 1), D("1.5")),
        (date(2025, 3, 2), D("2.25")),
    ]


@pytest.mark.parametrize("aggregation", [a.value for a in KPI.Aggregation])
@pytest.mark.parametrize("frequency", [f.value for f in KPI.Frequency])
def test_windows_equal_a_recomputation_after_ingestion_and_corrections(
    alice_m, org, aggregation, frequency
):
    kpi = make_kpi(org, key="k", aggregation=aggregation, frequency=frequency)
    # History from the single-point action, then two overlapping batches.
    for i in range(5):
        actions.record_data_point(
            kpi=kpi, value=D(i) + D("0.5"), time=BASE + timedelta(days=9 * i)
        )
    batch = [
        {
            "kpi": kpi.pk,
            "time": iso(BASE + timedelta(hours=7 * i)),
            "value": str(i % 17),
        }
        for i in range(400)
    ]
    ingest_points(alice_m, pts(*batch))
    again = [
        {"kpi_key": "k", "time": iso(BASE + timedelta(hours=7 * i)), "value": str(i)}
        for i in range(0, 800, 3)
    ]
    ingest_points(alice_m, pts(*again))
    stored = window_values(kpi)
    assert len(stored) > 1
    assert stored == recomputed(kpi)


def test_a_point_at_an_existing_time_is_a_correction_and_an_identical_one_changes_nothing(
    alice_m, signups
):
    ingest_points(
        alice_m,
        pts(
            {"kpi": signups.pk, "time": iso(BASE), "value": "3"},
            {"kpi": signups.pk, "time": iso(BASE + timedelta(hours=1)), "value": "4"},
        ),
    )
    result = ingest_points(
        alice_m,
        pts(
            # The same instant written in another time zone.
            {"kpi": signups.pk, "time": "2025-03-01T10:00:00+01:00", "value": "3.0000"},
            {"kpi": signups.pk, "time": iso(BASE + timedelta(hours=1)), "value": "5"},
            {"kpi": signups.pk, "time": iso(BASE + timedelta(hours=2)), "value": "1"},
        ),
    )
    assert result.status == 201
    assert result.body == {"points": 3, "created": 1, "corrected": 1, "unchanged": 1}
    old = DataPoint.objects.get(kpi=signups, value=4)
    assert not old.is_current
    assert old.replaced_by is not None
    assert old.replaced_by.value == 5
    assert old.replaced_by.is_current
    assert DataPoint.objects.filter(kpi=signups).count() == 4
    assert DataPoint.objects.filter(kpi=signups, is_current=True).count() == 3
    assert window_values(signups)[0][1:3] == (D("9"), 3)

    unchanged = ingest_points(
        alice_m, pts({"kpi": signups.pk, "time": iso(BASE), "value": 3})
    )
    assert unchanged.status == 200
    assert unchanged.body == {"points": 1, "created": 0, "corrected": 0, "unchanged": 1}
    assert DataPoint.objects.filter(kpi=signups).count() == 4


def test_a_correction_through_ingestion_matches_the_web_apps_correction(
    alice_m, signups
):
    first = actions.record_data_point(kpi=signups, value=D("10"), time=BASE)
    ingest_points(alice_m, pts({"kpi": signups.pk, "time": iso(BASE), "value": "12"}))
    first.refresh_from_db()
    assert not first.is_current
    assert first.replaced_by is not None
    assert (first.replaced_by.value, first.replaced_by.time) == (D("12"), BASE)


def test_key_results_tracking_a_kpi_follow_the_ingested_value(
    alice_m, org, alice, period
):
    kpi = make_kpi(org, key="csat", aggregation=KPI.Aggregation.LAST)
    objective = okr_actions.create_objective(
        org=org, period=period, owner=alice, title="Delight customers"
    )
    kr = okr_actions.create_key_result(
        objective=objective, title="CSAT to 90", owner=alice, start=D(80), target=D(90)
    )
    kr.kpi = kpi
    kr.save(update_fields=["kpi"])
    now = timezone.now().replace(microsecond=0)
    ingest_points(alice_m, pts({"kpi": kpi.pk, "time": iso(now), "value": "85"}))
    assert KeyResult.objects.get(pk=kr.pk).current == D("85")


# Every bad row, and nothing saved


def test_a_batch_with_bad_rows_saves_nothing_and_lists_every_bad_row(
    alice_m, org, signups, other_org
):
    make_kpi(org, name="Old", key="old", archived=True)
    theirs = make_kpi(other_org, name="Theirs", key="theirs")
    future = timezone.now() + timedelta(hours=1)
    batch = pts(
        {"kpi": signups.pk, "time": iso(BASE), "value": "1"},  # 0: good
        {"kpi": theirs.pk, "time": iso(BASE), "value": "1"},  # 1
        {"kpi_key": "theirs", "time": iso(BASE), "value": "1"},  # 2
        {"kpi_key": "old", "time": iso(BASE), "value": "1"},  # 3
        {"kpi": signups.pk, "time": "2025-03-01T09:00:00", "value": "1"},  # 4
        {"kpi": signups.pk, "time": iso(future), "value": "1"},  # 5
        {"kpi": signups.pk, "time": "yesterday", "value": "1"},  # 6
        {"kpi": signups.pk, "time": iso(BASE + timedelta(1)), "value": "1,5"},  # 7
        {"kpi": signups.pk, "time": iso(BASE + timedelta(2)), "value": "1.00001"},  # 8
        {"kpi": signups.pk, "time": iso(BASE + timedelta(3)), "value": "1e17"},  # 9
        {"kpi": signups.pk, "time": iso(BASE + timedelta(4)), "value": True},  # 10
        {"kpi": signups.pk, "time": iso(BASE + timedelta(5)), "value": "NaN"},  # 11
        {"kpi_key": "signups", "time": iso(BASE), "value": "2"},  # 12: same as 0
        {"kpi": signups.pk, "kpi_key": "signups", "time": iso(BASE), "value": "2"},
        {"time": iso(BASE), "value": "2"},  # 14
        {
            "kpi": signups.pk,
            "time": iso(BASE + timedelta(6)),
            "value": "1",
            "note": "x" * 501,
        },
        {"kpi": -3, "time": None, "value": None},  # 16: three problems
    )
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, batch)
    assert problems(excinfo) == [
        (1, "kpi", "unknown KPI"),
        (2, "kpi_key", "unknown KPI"),
        (3, "kpi_key", "the KPI is archived; it takes no values"),
        (
            4,
            "time",
            "'2025-03-01T09:00:00' has no time zone; add Z or an offset such as +02:00",
        ),
        (5, "time", f"'{iso(future)[:40]}' is in the future"),
        (6, "time", "'yesterday' is not an ISO 8601 date or time"),
        (
            7,
            "value",
            "'1,5' has a decimal comma; write it with a decimal point (1234.5)",
        ),
        (8, "value", "'1.00001' has more than 4 decimal places"),
        (9, "value", "'1e17' is too large (at most 15 digits before the point)"),
        (10, "value", "must be a number or a string holding one"),
        (11, "value", "'NaN' is not a number"),
        (12, "time", "the same KPI and time as row 0; send one value per time"),
        (13, "kpi", "give either kpi or kpi_key, not both"),
        (14, "kpi_key", "missing: give kpi (the KPI's id) or kpi_key (its key)"),
        (15, "note", "longer than 500 characters"),
        (16, "kpi", "kpi must be a KPI's id (a positive whole number)"),
        (16, "time", "missing: give an ISO 8601 time such as 2025-03-01T09:30:00Z"),
        (16, "value", "the value is missing"),
    ]
    assert not DataPoint.objects.exists()
    assert not KPIWindow.objects.exists()
    assert not IngestionRequest.objects.exists()


def test_a_private_kpi_the_caller_cannot_see_is_an_unknown_kpi(org, alice, bob, sales):
    private = make_kpi(
        org, name="Payroll", key="payroll", team=sales, visibility="private"
    )
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(
            membership(bob, org),
            pts({"kpi_key": "payroll", "time": iso(BASE), "value": "1"}),
        )
    assert problems(excinfo) == [(0, "kpi_key", "unknown KPI")]
    # Its owner's team and admins may push to it.
    result = ingest_points(
        membership(alice, org),
        pts({"kpi": private.pk, "time": iso(BASE), "value": "1"}),
    )
    assert result.body["created"] == 1


def test_a_viewer_may_not_push(org, viewer, signups):
    with pytest.raises(PermissionDenied):
        ingest_points(
            membership(viewer, org),
            pts({"kpi": signups.pk, "time": iso(BASE), "value": "1"}),
        )
    assert not DataPoint.objects.exists()


def test_a_batch_holds_at_most_ten_thousand_points(alice_m, signups):
    batch = [
        RawPoint(row=i, kpi=signups.pk, time=iso(BASE - timedelta(minutes=i)), value=1)
        for i in range(ingest.MAX_POINTS + 1)
    ]
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, batch)
    assert excinfo.value.too_large
    assert problems(excinfo) == [
        (0, "points", "10,001 points; a batch holds at most 10,000")
    ]
    assert not DataPoint.objects.exists()
    result = ingest_points(alice_m, batch[:-1])
    assert result.body["created"] == ingest.MAX_POINTS
    assert DataPoint.objects.count() == ingest.MAX_POINTS


def test_an_empty_batch_is_refused(alice_m):
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, [])
    assert problems(excinfo) == [(0, "points", "the batch has no points")]


# Idempotency keys


def test_replaying_a_key_answers_the_first_response_and_adds_nothing(alice_m, signups):
    batch = pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"})
    first = ingest_points(alice_m, batch, idempotency_key="k-1", body_hash="h")
    # Even after the data changed, the replay is the first answer.
    actions.record_data_point(kpi=signups, value=D(9), time=BASE)
    again = ingest_points(alice_m, batch, idempotency_key="k-1", body_hash="h")
    assert again.replayed and not first.replayed
    assert (
        (again.status, again.body)
        == (first.status, first.body)
        == (
            201,
            {"points": 1, "created": 1, "corrected": 0, "unchanged": 0},
        )
    )
    assert DataPoint.objects.count() == 2
    assert IngestionRequest.objects.get().user == alice_m.user


def test_a_key_reused_for_another_body_is_a_conflict(alice_m, signups):
    batch = pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"})
    ingest_points(alice_m, batch, idempotency_key="k-1", body_hash="h1")
    with pytest.raises(IdempotencyConflict):
        ingest_points(alice_m, batch, idempotency_key="k-1", body_hash="h2")
    assert DataPoint.objects.count() == 1


def test_keys_belong_to_one_organization(alice_m, signups, charlie, other_org):
    theirs = make_kpi(other_org, key="signups")
    ingest_points(
        alice_m,
        pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"}),
        idempotency_key="k-1",
        body_hash="h",
    )
    result = ingest_points(
        membership(charlie, other_org),
        pts({"kpi_key": "signups", "time": iso(BASE), "value": "3"}),
        idempotency_key="k-1",
        body_hash="h",
    )
    assert not result.replayed
    assert DataPoint.objects.filter(kpi=theirs).count() == 1


def test_a_rejected_batch_is_not_remembered_so_its_key_can_be_resent(alice_m, signups):
    with pytest.raises(IngestRejected):
        ingest_points(
            alice_m,
            pts({"kpi": signups.pk, "time": "bad", "value": "3"}),
            idempotency_key="k-1",
            body_hash="h1",
        )
    result = ingest_points(
        alice_m,
        pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"}),
        idempotency_key="k-1",
        body_hash="h2",
    )
    assert result.body["created"] == 1


def test_keys_are_forgotten_after_the_retention(alice_m, signups):
    batch = pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"})
    ingest_points(alice_m, batch, idempotency_key="old", body_hash="h")
    IngestionRequest.objects.update(
        created_at=timezone.now() - ingest.KEY_RETENTION - timedelta(minutes=1)
    )
    result = ingest_points(alice_m, batch, idempotency_key="old", body_hash="other")
    assert not result.replayed
    assert result.body["unchanged"] == 1
    assert list(IngestionRequest.objects.values_list("request_hash", flat=True)) == [
        "other"
    ]
    IngestionRequest.objects.update(
        created_at=timezone.now() - ingest.KEY_RETENTION - timedelta(minutes=1)
    )
    assert ingest.prune_ingestion_requests() == 1
    assert not IngestionRequest.objects.exists()


# Statements


def batch_of(kpi: KPI, n: int, start: datetime) -> list[RawPoint]:
    return [
        RawPoint(
            row=i, kpi=kpi.pk, time=iso(start + timedelta(minutes=i)), value=str(i)
        )
        for i in range(n)
    ]


def test_a_batch_costs_the_same_statements_for_100_or_1000_points(
    alice_m, signups, django_assert_num_queries
):
    # Some history, including values the second batch corrects.
    ingest_points(alice_m, batch_of(signups, 50, BASE))
    # Stored key lookup, KPIs, savepoint, lock the KPIs, current points, mark the
    # corrected ones, one INSERT run for every row, link the corrections, the
    # windows' points, window upsert, the KPIs' latest windows and health (read,
    # store), tracking key results, the KPI alerts' look (health, hold time, alert
    # states: notify.alerts), expired keys, the key, release.
    with django_assert_num_queries(19):
        ingest_points(
            alice_m,
            batch_of(signups, 100, BASE + timedelta(minutes=10)),
            idempotency_key="a",
            body_hash="a",
        )
    with django_assert_num_queries(19):
        ingest_points(
            alice_m,
            batch_of(signups, 1000, BASE + timedelta(minutes=5)),
            idempotency_key="b",
            body_hash="b",
        )
    assert DataPoint.objects.filter(kpi=signups, is_current=True).count() == 1005


# Reading bodies


def test_it_reads_json_numbers_as_exact_decimals_and_flags_unknown_fields():
    points = points_from_json(
        b'{"points": [{"kpi": 1, "time": "2025-03-01", "value": 0.1}, '
        b'{"kpi_id": 1}, 5]}'
    )
    assert points[0] == RawPoint(row=0, kpi=1, time="2025-03-01", value=D("0.1"))
    assert points[1].unknown == ("kpi_id",)
    assert points[2].unknown == ("(not an object)",)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"points": 3}', b'{"data": []}', b"\xff"]
)
def test_a_body_that_is_not_a_batch_is_refused(body):
    with pytest.raises(ingest.BodyError):
        points_from_json(body)


def test_it_reads_csv_with_a_header_in_any_column_order():
    points = points_from_csv(
        b"\xef\xbb\xbfValue,time,kpi_key,note\n"
        b"1.5,2025-03-01T09:00:00Z,signups,first\n"
        b"\n"
        b'2,2025-03-02,signups,"with, comma"\n'
        b"3,2025-03-03\n"
    )
    assert points[0] == RawPoint(
        row=2, kpi_key="signups", time="2025-03-01T09:00:00Z", value="1.5", note="first"
    )
    assert points[1] == RawPoint(
        row=4, kpi_key="signups", time="2025-03-02", value="2", note="with, comma"
    )
    assert points[2].row == 5 and points[2].unknown


@pytest.mark.parametrize(
    "body",
    [b"", b"2025-03-01,1\n", b"kpi,time,value,colour\n", b"kpi,kpi,time\n", b"\xff"],
)
def test_a_csv_without_a_usable_header_is_refused(body):
    with pytest.raises(ingest.BodyError):
        points_from_csv(body)


@pytest.mark.parametrize("aggregation", ["mean", "min", "max"])
@pytest.mark.parametrize("size", ["1.0001", "123456789012.25"])
def test_windows_read_back_from_the_database_equal_a_recomputation(
    alice_m, org, aggregation, size
):
    """Windows the database aggregates (small values) and windows whose points are
    read back (values too large for SQLite to sum exactly) agree with recompute."""
    kpi = make_kpi(org, key="big", aggregation=aggregation)
    actions.record_data_point(kpi=kpi, value=D(size), time=BASE)
    batch = [
        {
            "kpi": kpi.pk,
            "time": iso(BASE + timedelta(minutes=i + 1)),
            "value": str(D(size) * (i % 7 + 1) + D("0.0003") * i),
        }
        for i in range(30)
    ]
    ingest_points(alice_m, pts(*batch))
    # Corrections too: min and max cannot follow them without reading back.
    ingest_points(
        alice_m,
        pts({"kpi": kpi.pk, "time": iso(BASE), "value": str(D(size) * 3)}),
    )
    stored = window_values(kpi)
    assert stored[0][2] == 31
    assert stored == recomputed(kpi)
    slot = (kpi.pk, stored[0][0])
    in_db, left = windows.in_database({kpi.pk: kpi}, [slot])
    if aggregation == "mean" and size != "1.0001" and connection.vendor == "sqlite":
        assert left == [slot]  # too large to sum exactly in SQLite: read back instead
    else:
        value, count = in_db[slot].value, in_db[slot].count
        assert (left, value.quantize(D("0.000001")), count) == ([], stored[0][1], 31)


def test_values_the_database_could_not_hold_are_row_errors_not_crashes(
    alice_m, signups
):
    batch = pts(
        {"kpi": 2**70, "time": iso(BASE), "value": "1"},
        {"kpi": "99999999999999999999999", "time": iso(BASE), "value": "1"},
        {"kpi_key": "bad\x00key", "time": iso(BASE), "value": "1"},
        {"kpi_key": "x" * 300, "time": iso(BASE), "value": "1"},
        {"kpi": signups.pk, "time": "0001-01-01T00:00:00+01:00", "value": "1"},
        {"kpi": signups.pk, "time": "0001-01-01", "value": "1"},
        {"kpi": signups.pk, "time": iso(BASE), "value": "1", "note": "a\x00b"},
        {"kpi": signups.pk, "time": iso(BASE + timedelta(1)), "value": "sNaN"},
        {"kpi": signups.pk, "time": iso(BASE + timedelta(2)), "value": "1e-99999"},
        {"kpi": signups.pk, "time": iso(BASE + timedelta(3)), "value": 10**40},
    )
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, batch)
    id_problem = "kpi must be a KPI's id (a positive whole number)"
    assert problems(excinfo) == [
        (0, "kpi", id_problem),
        (1, "kpi", id_problem),
        (2, "kpi_key", "unknown KPI"),
        (3, "kpi_key", "unknown KPI"),
        (4, "time", "'0001-01-01T00:00:00+01:00' is outside 1970-01-01 to 2200-12-31"),
        (5, "time", "'0001-01-01' is outside 1970-01-01 to 2200-12-31"),
        (6, "note", "must not contain NUL characters"),
        (7, "value", "'sNaN' is not a number"),
        (8, "value", "'1e-99999' has more than 4 decimal places"),
        (
            9,
            "value",
            f"'{str(10**40)[:40]}' is too large (at most 15 digits before the point)",
        ),
    ]
    assert not DataPoint.objects.exists()


def test_a_csv_line_the_reader_cannot_read_is_a_row_error():
    points = points_from_csv(
        b"kpi,time,value\n1,2025-03-01," + b"9" * 200_000 + b"\n1,2025-03-02,1\n"
    )
    assert points[0].row == 2
    assert points[0].broken.startswith("the line could not be read (field larger")
    assert points[1] == RawPoint(row=3, kpi="1", time="2025-03-02", value="1")


def test_an_unterminated_quote_in_a_csv_is_a_row_error_not_a_note(alice_m, signups):
    body = (
        "kpi,time,value,note\n"
        f'{signups.pk},2025-03-01,1,"opened\n'
        f"{signups.pk},2025-03-02,2,fine\n"
        f'{signups.pk},2025-03-03,3,"closed" late\n'
    ).encode()

    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, points_from_csv(body))

    assert [(row, field) for row, field, _ in problems(excinfo)] == [
        (2, "(quoting)"),
        (4, "(quoting)"),
    ]
    assert problems(excinfo)[0][2].startswith("a quote opens a field that does not")
    assert problems(excinfo)[1][2].startswith("text follows a closing quote")
    assert not DataPoint.objects.exists()


def test_a_csv_header_with_broken_quoting_is_refused():
    with pytest.raises(ingest.BodyError, match="header line could not be read"):
        points_from_csv(b'kpi,time,"value\n1,2025-03-01,1\n')


def test_the_prune_command_deletes_only_expired_keys(alice_m, signups):
    for key in ("old", "recent"):
        batch = pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"})
        ingest_points(alice_m, batch, idempotency_key=key, body_hash=key)
    IngestionRequest.objects.filter(key="old").update(
        created_at=timezone.now() - ingest.KEY_RETENTION - timedelta(minutes=1)
    )
    out = StringIO()

    call_command("prune_idempotency_keys", stdout=out)

    assert out.getvalue() == "Deleted 1 idempotency key older than 7 days.\n"
    assert list(IngestionRequest.objects.values_list("key", flat=True)) == ["recent"]
    replay = ingest_points(
        alice_m,
        pts({"kpi": signups.pk, "time": iso(BASE), "value": "3"}),
        idempotency_key="recent",
        body_hash="recent",
    )
    assert replay.replayed


def test_a_value_with_a_huge_exponent_is_a_row_error(alice_m, signups):
    # abs() of it raised decimal.Overflow (a 500 in the batch endpoint).
    batch = pts({"kpi": signups.pk, "time": iso(BASE), "value": "1e999999999"})
    with pytest.raises(IngestRejected) as excinfo:
        ingest_points(alice_m, batch)
    assert problems(excinfo) == [
        (0, "value", "'1e999999999' is too large (at most 15 digits before the point)")
    ]
