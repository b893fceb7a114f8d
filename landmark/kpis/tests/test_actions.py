"""Every write on KPIs: definitions, data points and their windows, per-window targets,
and where KPIs meet OKRs (fix with an OKR, keep as a KPI, KRs following a KPI)."""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError

from landmark.kpis import actions
from landmark.kpis.actions import ParsedRow
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.loop import actions as loop
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import CheckIn, KeyResult, Objective, ObjectiveKPI, Period
from landmark.orgs.actions import create_team
from landmark.orgs.models import Organization

D = Decimal
JAN = date(2025, 1, 1)
FEB = date(2025, 2, 1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_kpi(org: Organization, **fields: Any) -> KPI:
    defaults: dict[str, Any] = {
        "name": "Average response time",
        "unit": "min",
        "frequency": KPI.Frequency.MONTHLY,
        "aggregation": KPI.Aggregation.LAST,
        "target_kind": KPI.TargetKind.AT_MOST,
        "target_high": D("30"),
    }
    defaults.update(fields)
    return actions.create_kpi(org=org, **defaults)


@pytest.fixture
def kpi(org, alice) -> KPI:
    """Seed article 002: average support response time, at most 30 minutes."""
    return make_kpi(org, owner=alice, key="support-response-time")


def windows(kpi: KPI) -> dict[date, Decimal]:
    return dict(KPIWindow.objects.filter(kpi=kpi).values_list("start", "value"))


def error_fields(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(excinfo.value.message_dict)


# Creating and editing KPIs


def test_it_creates_a_kpi_with_its_target(org, kpi):
    assert kpi.pk is not None
    assert kpi.organization == org
    assert kpi.target.label(kpi.unit, "en_US") == "≤ 30 min"
    assert kpi.tolerance == D("0.10")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"target_kind": "between", "target_low": D("20"), "target_high": D("10")},
            {"target_high"},
        ),
        ({"target_kind": "between"}, {"target_low", "target_high"}),
        ({"target_kind": "between", "target_low": D("1")}, {"target_high"}),
        ({"target_kind": "at_least", "target_high": D("5")}, {"target_low"}),
        ({"target_kind": "at_most", "target_low": D("5")}, {"target_high"}),
    ],
)
def test_it_refuses_an_incomplete_or_inverted_target_and_saves_nothing(
    org, fields, expected
):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_kpi(org=org, name="Uptime", **fields)
    assert error_fields(excinfo) == expected
    assert not KPI.objects.exists()


def test_it_accepts_a_between_target_of_a_single_value(org):
    kpi = actions.create_kpi(
        org=org,
        name="Headcount",
        target_kind="between",
        target_low=D("10"),
        target_high=D("10"),
    )
    assert kpi.target.holds(D("10"))


def test_it_refuses_a_key_another_kpi_of_the_organization_uses(org, kpi):
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(org, name="Another", key="support-response-time")
    assert error_fields(excinfo) == {"key"}
    assert KPI.objects.count() == 1


def test_it_lets_another_organization_use_the_same_key(kpi, other_org):
    other = make_kpi(other_org, key="support-response-time")
    assert other.key == kpi.key


def test_it_refuses_unknown_fields(org):
    with pytest.raises(TypeError):
        actions.create_kpi(org=org, name="X", colour="red")
    assert not KPI.objects.exists()


def test_it_updates_a_kpi_and_keeps_its_own_key(kpi):
    result = actions.update_kpi(
        kpi=kpi, name="First response time", key="support-response-time"
    )
    kpi.refresh_from_db()
    assert kpi.name == "First response time"
    assert result.kpi == kpi
    assert kpi.history.count() == 2


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"target_kind": "between", "target_low": D("40"), "target_high": D("20")},
            {"target_high"},
        ),
        ({"target_kind": "at_least", "target_low": None}, {"target_low"}),
        ({"target_high": None}, {"target_high"}),
    ],
)
def test_it_refuses_an_invalid_target_on_update_and_saves_nothing(
    kpi, fields, expected
):
    with pytest.raises(ValidationError) as excinfo:
        actions.update_kpi(kpi=kpi, **fields)
    assert error_fields(excinfo) == expected
    kpi.refresh_from_db()
    assert kpi.target_kind == KPI.TargetKind.AT_MOST
    assert kpi.target_high == D("30")
    assert kpi.history.count() == 1


def test_it_refuses_to_take_another_kpis_key_on_update(org, kpi):
    other = make_kpi(org, name="Backlog", key="backlog")
    with pytest.raises(ValidationError) as excinfo:
        actions.update_kpi(kpi=other, key="support-response-time", name="Renamed")
    assert error_fields(excinfo) == {"key"}
    other.refresh_from_db()
    assert (other.key, other.name) == ("backlog", "Backlog")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"frequency": "hourly"}, {"frequency"}),
        ({"aggregation": "median"}, {"aggregation"}),
        ({"target_kind": "roughly"}, {"target_kind"}),
        ({"visibility": "secret"}, {"visibility"}),
        ({"name": "x" * 500}, {"name"}),
    ],
)
def test_it_refuses_values_outside_the_kpis_choices_and_saves_nothing(
    org, fields, expected
):
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(org, **fields)
    assert expected <= error_fields(excinfo)
    assert not KPI.objects.exists()


def test_it_refuses_an_owner_or_team_of_another_organization(
    org, kpi, charlie, other_org
):
    elsewhere = create_team(org=other_org, name="Their sales")
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(org, name="Leaky", owner=charlie, team=elsewhere)
    assert error_fields(excinfo) == {"owner", "team"}
    with pytest.raises(ValidationError) as excinfo:
        actions.update_kpi(kpi=kpi, team=elsewhere)
    assert error_fields(excinfo) == {"team"}
    kpi.refresh_from_db()
    assert kpi.team is None
    assert KPI.objects.count() == 1


def test_it_refuses_to_change_the_target_kind_under_a_schedule(kpi):
    month = date(2025, 1, 1)
    actions.set_kpi_targets(kpi=kpi, schedule=[(month, None, D("40"))])
    with pytest.raises(ValidationError) as excinfo:
        actions.update_kpi(kpi=kpi, target_kind="at_least", target_low=D("10"))
    assert error_fields(excinfo) == {"target_kind"}
    kpi.refresh_from_db()
    assert kpi.target_kind == KPI.TargetKind.AT_MOST
    # Other edits under a schedule are fine, the kind included when it stays.
    actions.update_kpi(kpi=kpi, target_kind="at_most", name="First response")


def test_per_window_targets_keep_a_history_of_their_changes(kpi):
    month = date(2025, 1, 1)
    actions.set_kpi_targets(kpi=kpi, schedule=[(month, None, D("40"))])
    actions.set_kpi_targets(kpi=kpi, schedule=[(month, None, D("35"))])
    history = KPITarget.history.filter(kpi_id=kpi.pk).order_by("history_id")
    assert [(h.history_type, h.high) for h in history] == [
        ("+", D("40")),
        ("-", D("40")),
        ("+", D("35")),
    ]


# Raising the bar


@pytest.mark.parametrize(
    ("start", "change", "raised"),
    [
        (
            {"target_kind": "at_most", "target_high": D("30")},
            {"target_high": D("25")},
            True,
        ),
        (
            {"target_kind": "at_most", "target_high": D("30")},
            {"target_high": D("35")},
            False,
        ),
        (
            {"target_kind": "at_least", "target_low": D("90")},
            {"target_low": D("95")},
            True,
        ),
        (
            {"target_kind": "at_least", "target_low": D("90")},
            {"target_low": D("85")},
            False,
        ),
        (
            {"target_kind": "between", "target_low": D("10"), "target_high": D("20")},
            {"target_low": D("12")},
            True,
        ),
        (
            {"target_kind": "between", "target_low": D("10"), "target_high": D("20")},
            {"target_high": D("18")},
            True,
        ),
        (
            {"target_kind": "between", "target_low": D("10"), "target_high": D("20")},
            {"target_low": D("8"), "target_high": D("22")},
            False,
        ),
        # No bar to raise yet: setting a first target is not "raising" it.
        (
            {"target_kind": "", "target_high": None},
            {"target_kind": "at_most", "target_high": D("1")},
            False,
        ),
        (
            {"target_kind": "at_most", "target_high": D("30")},
            {"name": "Renamed"},
            False,
        ),
    ],
)
def test_it_flags_a_more_ambitious_target_with_no_okr_working_on_it(
    org, start, change, raised
):
    kpi = make_kpi(org, **start)
    assert loop.raised_without_okr(actions.update_kpi(kpi=kpi, **change)) is raised


def test_it_does_not_flag_a_raised_bar_when_an_objective_works_on_the_kpi(
    org, kpi, objective
):
    ObjectiveKPI.objects.create(organization=org, objective=objective, kpi=kpi)
    result = actions.update_kpi(kpi=kpi, target_high=D("20"))
    assert not loop.raised_without_okr(result)


def test_it_does_not_flag_a_raised_bar_when_a_key_result_tracks_the_kpi(
    kpi, key_results
):
    KeyResult.objects.filter(pk=key_results[0].pk).update(kpi=kpi)
    result = actions.update_kpi(kpi=kpi, target_high=D("20"))
    assert not loop.raised_without_okr(result)


def test_it_flags_a_raised_bar_when_only_closed_okrs_worked_on_it(
    org, kpi, objective, key_results
):
    ObjectiveKPI.objects.create(organization=org, objective=objective, kpi=kpi)
    Period.objects.filter(pk=objective.period_id).update(state=Period.State.CLOSED)
    assert loop.raised_without_okr(actions.update_kpi(kpi=kpi, target_high=D("25")))

    Period.objects.filter(pk=objective.period_id).update(state=Period.State.ACTIVE)
    Objective.objects.filter(pk=objective.pk).update(state=Objective.State.CLOSED)
    assert loop.raised_without_okr(actions.update_kpi(kpi=kpi, target_high=D("20")))


def test_another_organizations_okr_does_not_count_as_working_on_the_kpi(
    kpi, other_objective
):
    # Hand-made cross-tenant row: the query must still be scoped to the KPI's org.
    ObjectiveKPI.objects.create(
        organization=other_objective.organization, objective=other_objective, kpi=kpi
    )
    assert loop.raised_without_okr(actions.update_kpi(kpi=kpi, target_high=D("25")))


# Data points and their windows


@pytest.mark.parametrize(
    ("aggregation", "january", "february"),
    [
        (KPI.Aggregation.LAST, D("20"), D("5")),
        (KPI.Aggregation.SUM, D("60"), D("5")),
        (KPI.Aggregation.MEAN, D("20"), D("5")),
        (KPI.Aggregation.MIN, D("10"), D("5")),
        (KPI.Aggregation.MAX, D("30"), D("5")),
    ],
)
def test_it_keeps_each_windows_value_by_the_kpis_aggregation(
    org, aggregation, january, february
):
    kpi = make_kpi(org, aggregation=aggregation)
    # Recorded out of order: LAST is the latest in time, not the latest typed.
    actions.record_data_point(kpi=kpi, value=D("30"), time=at(2025, 1, 20))
    actions.record_data_point(kpi=kpi, value=D("20"), time=at(2025, 1, 31, 23, 59))
    actions.record_data_point(kpi=kpi, value=D("10"), time=at(2025, 1, 5))
    actions.record_data_point(kpi=kpi, value=D("5"), time=at(2025, 2, 1))
    assert windows(kpi) == {JAN: january, FEB: february}
    jan = KPIWindow.objects.get(kpi=kpi, start=JAN)
    assert jan.count == 3
    assert jan.last_time == at(2025, 1, 31, 23, 59)
    assert jan.organization_id == org.pk


def test_it_keeps_a_mean_that_is_not_a_whole_number(org):
    kpi = make_kpi(org, aggregation=KPI.Aggregation.MEAN)
    for value, day in [(D("1"), 3), (D("2"), 4), (D("2"), 5)]:
        actions.record_data_point(kpi=kpi, value=value, time=at(2025, 1, day))
    assert windows(kpi)[JAN] == pytest.approx(D("1.666667"), abs=D("0.000001"))


def test_it_puts_weekly_points_in_monday_windows_across_the_new_year(org):
    kpi = make_kpi(org, frequency=KPI.Frequency.WEEKLY, aggregation="sum")
    actions.record_data_point(kpi=kpi, value=D("1"), time=at(2024, 12, 30, 0, 0))
    actions.record_data_point(kpi=kpi, value=D("2"), time=at(2025, 1, 5, 23, 59))
    actions.record_data_point(kpi=kpi, value=D("4"), time=at(2025, 1, 6, 0, 0))
    assert windows(kpi) == {date(2024, 12, 30): D("3"), date(2025, 1, 6): D("4")}


def test_it_splits_windows_at_midnight_in_the_configured_time_zone(org, settings):
    settings.TIME_ZONE = "America/New_York"
    kpi = make_kpi(org, aggregation="sum")
    # 03:00 UTC on 1 February is 22:00 on 31 January in New York (UTC−5).
    actions.record_data_point(kpi=kpi, value=D("1"), time=at(2025, 2, 1, 3, 0))
    actions.record_data_point(kpi=kpi, value=D("2"), time=at(2025, 2, 1, 4, 59))
    # 05:00 UTC is midnight in New York: the February window starts there.
    actions.record_data_point(kpi=kpi, value=D("4"), time=at(2025, 2, 1, 5, 0))
    assert windows(kpi) == {JAN: D("3"), FEB: D("4")}


def test_it_splits_windows_at_utc_midnight_by_default(org):
    kpi = make_kpi(org, aggregation="sum")
    tokyo = ZoneInfo("Asia/Tokyo")
    # 08:00 on 1 February in Tokyo is 23:00 on 31 January in UTC.
    actions.record_data_point(
        kpi=kpi, value=D("1"), time=datetime(2025, 2, 1, 8, 0, tzinfo=tokyo)
    )
    actions.record_data_point(
        kpi=kpi, value=D("2"), time=datetime(2025, 2, 1, 9, 0, tzinfo=tokyo)
    )
    assert windows(kpi) == {JAN: D("1"), FEB: D("2")}


def test_it_refuses_a_time_without_a_time_zone(kpi):
    with pytest.raises(ValidationError) as excinfo:
        actions.record_data_point(kpi=kpi, value=D("1"), time=datetime(2025, 1, 1))
    assert error_fields(excinfo) == {"time"}
    assert not DataPoint.objects.exists()


def test_it_records_a_point_now_by_default(kpi, bob):
    point = actions.record_data_point(kpi=kpi, value=D("41"), author=bob, note="Hi")
    assert point.author == bob
    assert point.source == DataPoint.Source.MANUAL
    assert KPIWindow.objects.get(kpi=kpi).count == 1


def test_a_second_value_at_the_same_time_is_a_correction_that_keeps_the_first(
    kpi, alice
):
    when = at(2025, 1, 10, 9, 0)
    first = actions.record_data_point(kpi=kpi, value=D("52"), time=when)
    second = actions.record_data_point(kpi=kpi, value=D("48"), time=when, author=alice)
    first.refresh_from_db()
    assert not first.is_current
    assert first.replaced_by == second
    assert second.is_current
    assert DataPoint.objects.filter(kpi=kpi).count() == 2
    window = KPIWindow.objects.get(kpi=kpi, start=JAN)
    assert (window.value, window.count) == (D("48"), 1)


def test_a_correction_replaces_a_value_in_a_sum_instead_of_adding_to_it(org):
    kpi = make_kpi(org, aggregation="sum")
    point = actions.record_data_point(kpi=kpi, value=D("10"), time=at(2025, 1, 3))
    actions.record_data_point(kpi=kpi, value=D("20"), time=at(2025, 1, 4))
    actions.correct_data_point(point=point, value=D("15"), author=None)
    assert windows(kpi) == {JAN: D("35")}


def test_it_corrects_a_point_and_refuses_to_correct_a_replaced_one(kpi, alice):
    point = actions.record_data_point(kpi=kpi, value=D("52"), time=at(2025, 1, 10))
    fixed = actions.correct_data_point(point=point, value=D("50"), author=alice)
    assert fixed.time == point.time
    assert fixed.author == alice
    assert "Correction" in fixed.note
    point.refresh_from_db()
    assert point.replaced_by == fixed

    with pytest.raises(ValidationError) as excinfo:
        actions.correct_data_point(point=point, value=D("49"), author=alice)
    assert error_fields(excinfo) == {"value"}
    assert DataPoint.objects.filter(kpi=kpi).count() == 2
    assert windows(kpi) == {JAN: D("50")}


# Importing


def row(line: int, when: datetime, value: str, note: str = "") -> ParsedRow:
    return ParsedRow(line=line, time=when, value=D(value), note=note)


def test_it_imports_points_into_their_windows(org, bob):
    kpi = make_kpi(org, aggregation="sum")
    count = actions.import_data_points(
        kpi=kpi,
        rows=[
            row(2, at(2025, 1, 3), "1", "first"),
            row(3, at(2025, 1, 30), "2"),
            row(4, at(2025, 2, 2), "4"),
        ],
        author=bob,
    )
    assert count == 3
    assert windows(kpi) == {JAN: D("3"), FEB: D("4")}
    assert set(DataPoint.objects.values_list("source", flat=True)) == {"import"}
    assert DataPoint.objects.get(time=at(2025, 1, 3)).note == "first"


def test_it_refuses_an_import_with_two_rows_at_the_same_time(kpi):
    actions.record_data_point(kpi=kpi, value=D("40"), time=at(2025, 1, 3))
    with pytest.raises(ValidationError):
        actions.import_data_points(
            kpi=kpi,
            rows=[
                row(2, at(2025, 1, 4), "1"),
                row(3, at(2025, 1, 3), "2"),
                row(4, at(2025, 1, 3), "3"),
            ],
            author=None,
        )
    assert list(DataPoint.objects.values_list("value", flat=True)) == [D("40")]
    assert windows(kpi) == {JAN: D("40")}


def test_an_import_that_fails_half_way_writes_nothing(kpi):
    actions.record_data_point(kpi=kpi, value=D("40"), time=at(2025, 1, 3))
    too_big = D("1e17")  # more digits than a value may have
    with pytest.raises((InvalidOperation, DataError)):
        actions.import_data_points(
            kpi=kpi,
            rows=[row(2, at(2025, 1, 3), "41"), row(3, at(2025, 1, 4), str(too_big))],
            author=None,
        )
    point = DataPoint.objects.get()
    assert (point.value, point.is_current) == (D("40"), True)
    assert windows(kpi) == {JAN: D("40")}


def test_an_import_corrects_points_at_the_same_time(org):
    kpi = make_kpi(org, aggregation="sum")
    old = actions.record_data_point(kpi=kpi, value=D("10"), time=at(2025, 1, 3))
    kept = actions.record_data_point(kpi=kpi, value=D("1"), time=at(2025, 1, 4))
    actions.import_data_points(
        kpi=kpi,
        rows=[row(2, at(2025, 1, 3), "12"), row(3, at(2025, 2, 3), "7")],
        author=None,
    )
    old.refresh_from_db()
    kept.refresh_from_db()
    new = DataPoint.objects.get(kpi=kpi, time=at(2025, 1, 3), is_current=True)
    assert new.value == D("12")
    assert not old.is_current
    assert old.replaced_by == new
    assert kept.is_current
    assert windows(kpi) == {JAN: D("13"), FEB: D("7")}


def test_an_import_recomputes_each_window_once(kpi, monkeypatch):
    calls: list[list[date]] = []
    recompute = actions.recompute_windows

    def counting(kpi: KPI, starts: Any) -> None:
        starts = list(starts)
        calls.append(starts)
        recompute(kpi, starts)

    monkeypatch.setattr(actions, "recompute_windows", counting)
    actions.import_data_points(
        kpi=kpi,
        rows=[row(n, at(2025, 1 + n % 2, n), str(n)) for n in range(1, 21)],
        author=None,
    )
    assert len(calls) == 1
    assert set(calls[0]) == {JAN, FEB}
    assert set(windows(kpi)) == {JAN, FEB}


# Per-window targets


def test_it_sets_per_window_targets_and_replaces_them(kpi):
    actions.set_kpi_targets(
        kpi=kpi, schedule=[(JAN, None, D("40")), (FEB, None, D("35"))]
    )
    actions.set_kpi_targets(kpi=kpi, schedule=[(FEB, None, D("30"))])
    rows = KPITarget.objects.filter(kpi=kpi)
    assert [(t.window_start, t.high) for t in rows] == [(FEB, D("30"))]
    assert kpi.target_for(FEB, {t.window_start: t for t in rows}).high == D("30")
    assert kpi.target_for(JAN, {t.window_start: t for t in rows}).high == D("30")


def test_it_refuses_a_target_date_that_does_not_start_a_window(kpi):
    actions.set_kpi_targets(kpi=kpi, schedule=[(JAN, None, D("40"))])
    with pytest.raises(ValidationError) as excinfo:
        actions.set_kpi_targets(
            kpi=kpi, schedule=[(FEB, None, D("35")), (date(2025, 3, 15), None, D("3"))]
        )
    assert error_fields(excinfo) == {"schedule"}
    assert "2025-03-15" in str(excinfo.value)
    assert list(KPITarget.objects.values_list("window_start", flat=True)) == [JAN]


def test_it_refuses_a_per_window_target_without_the_kpis_bound(kpi):
    with pytest.raises(ValidationError) as excinfo:
        actions.set_kpi_targets(kpi=kpi, schedule=[(JAN, D("10"), None)])
    assert error_fields(excinfo) == {"target_high"}
    assert not KPITarget.objects.exists()


def test_it_refuses_two_targets_for_the_same_window(kpi):
    # Bug fixed: this reached the database's unique constraint (IntegrityError).
    with pytest.raises(ValidationError) as excinfo:
        actions.set_kpi_targets(
            kpi=kpi, schedule=[(JAN, None, D("40")), (JAN, None, D("35"))]
        )
    assert error_fields(excinfo) == {"schedule"}
    assert not KPITarget.objects.exists()


# Fix with an OKR


def test_it_fixes_an_unhealthy_kpi_with_a_draft_okr(org, kpi, period, bob, sales):
    actions.update_kpi(kpi=kpi, team=sales)
    actions.record_data_point(kpi=kpi, value=D("52"), time=at(2025, 1, 10))
    objective = loop.fix_with_okr(kpi=kpi, period=period, owner=bob)

    assert objective.state == Objective.State.DRAFT
    assert objective.period == period
    assert objective.organization == org
    assert objective.owner == bob
    assert objective.team == sales
    assert objective.level == Objective.Level.TEAM
    assert ObjectiveKPI.objects.filter(objective=objective, kpi=kpi).exists()
    kr = objective.key_results.get()
    assert kr.kind == KeyResult.Kind.METRIC
    assert (kr.start, kr.target) == (D("52"), D("30"))
    assert kr.kpi == kpi
    assert kr.owner == kpi.owner
    assert kr.title == "Bring Average response time from 52 min to 30 min"
    # The KPI now has an OKR working on it: raising its bar is no longer flagged.
    assert not loop.raised_without_okr(actions.update_kpi(kpi=kpi, target_high=D("25")))


@pytest.mark.parametrize(
    ("target", "current", "goal"),
    [
        ({"target_kind": "at_least", "target_low": D("95")}, D("80"), D("95")),
        ({"target_kind": "at_most", "target_high": D("30")}, D("52"), D("30")),
        (
            {"target_kind": "between", "target_low": D("10"), "target_high": D("20")},
            D("25"),
            D("20"),
        ),
        (
            {"target_kind": "between", "target_low": D("10"), "target_high": D("20")},
            D("4"),
            D("10"),
        ),
    ],
)
def test_the_drafted_key_result_aims_for_the_nearest_bound(
    org, period, alice, target, current, goal
):
    kpi = make_kpi(org, **{"target_high": None, **target})
    actions.record_data_point(kpi=kpi, value=current, time=at(2025, 1, 10))
    objective = loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    kr = objective.key_results.get()
    assert (kr.start, kr.target) == (current, goal)
    assert objective.level == Objective.Level.COMPANY  # the KPI has no team
    assert kr.owner == alice  # the KPI has no owner


def test_the_drafted_key_result_aims_for_the_scheduled_target_at_the_periods_end(
    kpi, period, alice
):
    """A ramping schedule: the KR aims where the KPI must be when the period ends."""
    end_month = period.end.replace(day=1)
    start_month = period.start.replace(day=1)
    actions.set_kpi_targets(
        kpi=kpi,
        schedule=[(start_month, None, D("45")), (end_month, None, D("35"))],
    )
    actions.record_data_point(kpi=kpi, value=D("52"), time=at(2025, 1, 10))
    objective = loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    kr = objective.key_results.get()
    assert (kr.start, kr.target) == (D("52"), D("35"))
    assert "a target of ≤ 35 min" in objective.description


def test_it_starts_the_drafted_key_result_from_the_latest_window(kpi, period, alice):
    actions.record_data_point(kpi=kpi, value=D("60"), time=at(2025, 1, 10))
    actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 2, 10))
    objective = loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    assert objective.key_results.get().start == D("45")


def test_it_refuses_to_fix_a_kpi_without_a_target(org, period, alice):
    kpi = make_kpi(org, target_kind="", target_high=None)
    actions.record_data_point(kpi=kpi, value=D("52"), time=at(2025, 1, 10))
    with pytest.raises(ValidationError, match="target"):
        loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    assert not Objective.objects.exists()


def test_it_refuses_to_fix_a_kpi_without_data(kpi, period, alice):
    with pytest.raises(ValidationError, match="value"):
        loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    assert not Objective.objects.exists()


def test_it_refuses_to_draft_into_a_closed_period(org, kpi, alice):
    closed = okr_actions.create_period(
        org=org,
        name="Q1 2024",
        start=date(2024, 1, 1),
        end=date(2024, 3, 31),
        state=Period.State.CLOSED,
    )
    actions.record_data_point(kpi=kpi, value=D("52"), time=at(2025, 1, 10))
    with pytest.raises(ValidationError) as excinfo:
        loop.fix_with_okr(kpi=kpi, period=closed, owner=alice)
    assert error_fields(excinfo) == {"period"}
    assert not Objective.objects.exists()


@pytest.mark.parametrize("current", [D("30"), D("12")])
def test_it_refuses_to_fix_a_kpi_whose_target_holds(kpi, period, alice, current):
    # Bug fixed: at 12 minutes against ≤ 30 it drafted "bring it from 12 to 30",
    # a key result that asks for slower answers.
    actions.record_data_point(kpi=kpi, value=current, time=at(2025, 1, 10))
    with pytest.raises(ValidationError, match="already"):
        loop.fix_with_okr(kpi=kpi, period=period, owner=alice)
    assert not Objective.objects.exists()


# Keep as a KPI


def check_in(kr: KeyResult, author, value: str, when: datetime) -> None:
    okr_actions.record_checkin(
        key_result=kr,
        author=author,
        status=KeyResult.Status.ON_TRACK,
        value=D(value),
        moved=f"Now {value}",
        at=when,
    )


def test_it_keeps_a_reached_increasing_key_result_as_an_at_least_kpi(
    org, key_results, bob, sales
):
    kr = key_results[0]  # 0 → 5 customers
    times = [at(2025, 1, 6), at(2025, 1, 20), at(2025, 2, 3)]
    for value, when in zip(["2", "4", "5"], times, strict=True):
        check_in(kr, bob, value, when)

    kpi = loop.keep_as_kpi(key_result=kr, author=bob)

    assert kpi.organization == org
    assert kpi.name == kr.title
    assert kpi.unit == "customers"
    assert kpi.team == sales
    assert kpi.frequency == KPI.Frequency.WEEKLY
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == (
        KPI.TargetKind.AT_LEAST,
        D("5"),
        None,
    )
    points = DataPoint.objects.filter(kpi=kpi).order_by("time")
    assert [(p.time, p.value) for p in points] == list(
        zip(times, [D("2"), D("4"), D("5")], strict=True)
    )
    assert [p.note for p in points] == ["Now 2", "Now 4", "Now 5"]
    assert actions.current_value(kpi) == D("5")
    kr.refresh_from_db()
    assert kr.kpi == kpi


def test_it_keeps_a_reached_decreasing_key_result_as_an_at_most_kpi(objective, bob):
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Cut churn",
        unit="%",
        start=D("8"),
        target=D("5"),
    )
    check_in(kr, bob, "4.5", at(2025, 1, 6))
    kpi = loop.keep_as_kpi(key_result=kr, author=bob, frequency="monthly")
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == (
        KPI.TargetKind.AT_MOST,
        None,
        D("5"),
    )
    assert windows(kpi) == {JAN: D("4.5")}


@pytest.mark.parametrize(
    ("op", "low", "high", "value"),
    [
        (KeyResult.ThresholdOp.AT_LEAST, D("95"), None, "96"),
        (KeyResult.ThresholdOp.AT_MOST, None, D("2"), "1"),
        (KeyResult.ThresholdOp.BETWEEN, D("40"), D("60"), "50"),
    ],
)
def test_it_keeps_a_held_threshold_key_result_with_the_same_threshold(
    objective, bob, op, low, high, value
):
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Hold it",
        kind=KeyResult.Kind.THRESHOLD,
        threshold_op=op,
        threshold_low=low,
        threshold_high=high,
    )
    check_in(kr, bob, value, at(2025, 1, 6))
    kpi = loop.keep_as_kpi(key_result=kr, author=bob)
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == (op, low, high)
    assert kpi.target.holds(D(value))


def test_it_refuses_to_keep_a_milestone_as_a_kpi(key_results, bob):
    milestone = key_results[2]
    okr_actions.record_checkin(
        key_result=milestone, author=bob, status="on_track", done=True
    )
    with pytest.raises(ValidationError, match="milestone"):
        loop.keep_as_kpi(key_result=milestone, author=bob)
    assert not KPI.objects.exists()


def test_it_refuses_to_keep_an_unreached_key_result_as_a_kpi(key_results, bob):
    metric, threshold = key_results[0], key_results[1]
    check_in(metric, bob, "3", at(2025, 1, 6))
    check_in(threshold, bob, "90", at(2025, 1, 6))
    with pytest.raises(ValidationError, match="reached"):
        loop.keep_as_kpi(key_result=metric, author=bob)
    with pytest.raises(ValidationError, match="reached"):
        loop.keep_as_kpi(key_result=threshold, author=bob)
    assert not KPI.objects.exists()
    assert not DataPoint.objects.exists()


# Key results that track a KPI


@pytest.fixture
def tracking(objective, kpi) -> KeyResult:
    """A KR bringing response time from 60 to 30 minutes, following the KPI."""
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Answer within 30 minutes",
        unit="min",
        start=D("60"),
        target=D("30"),
    )
    KeyResult.objects.filter(pk=kr.pk).update(kpi=kpi)
    kr.refresh_from_db()
    return kr


def test_a_key_result_tracking_a_kpi_follows_its_value(kpi, tracking, bob):
    actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 1, 10), author=bob)
    tracking.refresh_from_db()
    assert tracking.current == D("45")
    checkin = CheckIn.objects.get(key_result=tracking)
    assert checkin.value == D("45")
    assert checkin.author == bob
    # The note never names the KPI: whoever sees the key result may not see the KPI.
    assert checkin.moved == okr_actions.TRACKED_KPI_NOTE
    assert kpi.name not in checkin.moved
    assert tracking.progress() == pytest.approx(0.5)


def test_the_check_in_is_by_the_key_results_owner_when_no_one_is_named(kpi, tracking):
    actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 1, 10))
    assert CheckIn.objects.get(key_result=tracking).author == tracking.owner


def test_a_tracking_key_result_follows_corrections_and_imports(kpi, tracking):
    point = actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 1, 10))
    actions.correct_data_point(point=point, value=D("50"), author=None)
    tracking.refresh_from_db()
    assert tracking.current == D("50")
    actions.import_data_points(
        kpi=kpi, rows=[row(2, at(2025, 2, 10), "40")], author=None
    )
    tracking.refresh_from_db()
    assert tracking.current == D("40")
    assert list(
        CheckIn.objects.filter(key_result=tracking)
        .order_by("pk")
        .values_list("value", flat=True)
    ) == [D("45"), D("50"), D("40")]


def test_an_older_point_that_leaves_the_current_value_adds_no_check_in(kpi, tracking):
    actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 2, 10))
    actions.record_data_point(kpi=kpi, value=D("55"), time=at(2025, 1, 10))
    tracking.refresh_from_db()
    assert tracking.current == D("45")
    assert CheckIn.objects.filter(key_result=tracking).count() == 1


def test_a_key_result_in_a_closed_period_no_longer_follows_its_kpi(
    kpi, tracking, objective
):
    Period.objects.filter(pk=objective.period_id).update(state=Period.State.CLOSED)
    actions.record_data_point(kpi=kpi, value=D("45"), time=at(2025, 1, 10))
    tracking.refresh_from_db()
    assert tracking.current is None
    assert not CheckIn.objects.filter(key_result=tracking).exists()


def test_recording_without_syncing_leaves_key_results_alone(kpi, tracking):
    actions.record_data_point(
        kpi=kpi, value=D("45"), time=at(2025, 1, 10), sync_key_results=False
    )
    assert not CheckIn.objects.filter(key_result=tracking).exists()
