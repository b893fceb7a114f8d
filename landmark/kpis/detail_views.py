"""One KPI's page: header, interactive chart with a data table, values entered and
corrected in place, CSV import, the OKRs working on it and its history of edits.

Constant queries whatever the number of data points: the chart and the windows table
read the stored per-window values (KPIWindow), and raw points are shown 50 at a time
with keyset pagination (`?before=`), so the millionth point costs what the first does.

Chart downsampling: a KPI with more than MAX_CHART_POINTS windows is drawn from
buckets of consecutive windows, each bucket combined with the KPI's own aggregation
(last, sum, min, max; mean weighted by each window's number of points, so it equals
the mean of the bucket's points). A bucket is placed at its first window's start and
carries the target of its last window. The data table always lists every window.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.kpis import actions, health, windows
from landmark.kpis.access import (
    get_kpi_for_member,
    get_point_for_member,
)
from landmark.kpis.actions import ParsedRow, RowError
from landmark.kpis.csv_import import MAX_ROWS, parse_csv
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.kpis.read import KPIView, load_kpi_views
from landmark.lib import bounds, numbers
from landmark.lib.forms import ValueField
from landmark.lib.http import is_partial
from landmark.orgs.access import member_required, membership_of
from landmark.orgs.models import Membership

POINTS_PER_PAGE = 50
WINDOWS_PER_PAGE = 25
MAX_CHART_POINTS = 2000
HISTORY_SHOWN = 20
PREVIEW_ROWS = 20
# The confirm step posts the CSV text back as a form field: stay well under Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) so the confirmation is never refused.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


# Forms (only this page uses them)


class PointForm(forms.Form):
    value = ValueField(label="Value")
    time = forms.DateTimeField(
        label="Time",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    note = forms.CharField(max_length=500, required=False, label="Note")

    def clean_time(self) -> datetime:
        when: datetime = self.cleaned_data["time"]
        if when > timezone.now():
            raise ValidationError("This time is in the future; enter a past time.")
        return bounds.check_time(when)


class CorrectionForm(forms.Form):
    value = ValueField(label="Correct value")
    note = forms.CharField(
        max_length=500, required=False, label="Why", help_text="Optional."
    )


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", required=False)
    # The confirmation posts the previewed text back; it is parsed and checked again.
    content = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                self.add_error("file", "The file is larger than 2 MB; split it.")
                return data
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error(
                    "file", "The file is not UTF-8 text; save it as “CSV UTF-8”."
                )
        elif data.get("content"):
            data["text"] = data["content"]
        else:
            self.add_error("file", "Choose a CSV file.")
        return data


def new_point_form() -> PointForm:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return PointForm(initial={"time": now})


# Reading the page


@dataclass
class WindowRow:
    start: date
    value: Decimal
    count: int
    target: health.Target
    target_label: str
    health: health.Health

    @property
    def health_label(self) -> str:
        return health.HEALTH_LABELS[self.health]


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Edit:
    when: datetime
    who: str
    kind: str  # created, changed, deleted; or "commented on" (see below)
    changes: list[Change]


# More lines of a KPI's history from the apps above this one (comments: "Sam
# commented on the KPI"): each takes the KPI and a limit and gives its newest edits.
KPI_EDIT_SOURCES: list[Callable[[KPI, int], list[Edit]]] = []


def window_rows(
    kpi: KPI,
    windows: Sequence[KPIWindow],
    schedule: dict[date, KPITarget],
    locale: str,
) -> list[WindowRow]:
    rows = []
    for w in windows:
        target = kpi.target_for(w.start, schedule)
        rows.append(
            WindowRow(
                start=w.start,
                value=w.value,
                count=w.count,
                target=target,
                target_label=target.label(kpi.unit, locale),
                health=health.health(w.value, target, kpi.tolerance),
            )
        )
    return rows


def band_ends(target: health.Target) -> tuple[float | None, float | None]:
    low = target.low if target.has_low else None
    high = target.high if target.has_high else None
    if not target.is_set:
        low = high = None
    return (
        None if low is None else float(low),
        None if high is None else float(high),
    )


def chart_data(kpi: KPI, rows: Sequence[WindowRow], locale: str) -> dict[str, Any]:
    """What the chart draws: one point per window (or per bucket of windows), with
    every number it writes (tooltips, legend, the value axis) already written by
    landmark.lib.numbers in the organization's locale: the script formats nothing."""
    size = max(1, math.ceil(len(rows) / MAX_CHART_POINTS))
    tz = timezone.get_current_timezone()
    data: dict[str, Any] = {"x": [], "value": [], "low": [], "high": []}
    for first in range(0, len(rows), size):
        bucket = rows[first : first + size]
        value = windows.combine(kpi.aggregation, [(r.value, r.count) for r in bucket])
        low, high = band_ends(bucket[-1].target)
        start = datetime.combine(bucket[0].start, time.min, tzinfo=tz)
        data["x"].append(int(start.timestamp()))
        data["value"].append(float(value))
        data["low"].append(low)
        data["high"].append(high)
    drawn = [v for key in ("value", "low", "high") for v in data[key] if v is not None]
    ticks = numbers.axis_ticks(min(drawn), max(drawn)) if drawn else []
    data.update(
        {
            f"{key}_labels": [numbers.amount(v, kpi.unit, locale) for v in data[key]]
            for key in ("value", "low", "high")
        },
        y_ticks=[float(t) for t in ticks],
        y_tick_labels=[numbers.amount(t, kpi.unit, locale) for t in ticks],
        unit=kpi.unit,
        target_kind=kpi.target_kind,
        name=kpi.name,
        windows=len(rows),
        windows_per_point=size,
    )
    return data


def load_windows(kpi: KPI, locale: str) -> list[WindowRow]:
    windows = list(
        KPIWindow.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
        .only("start", "value", "count")
        .order_by("start")
    )
    schedule = {
        t.window_start: t
        for t in KPITarget.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
    }
    return window_rows(kpi, windows, schedule, locale)


def parse_cursor(raw: str) -> tuple[datetime, int] | None:
    """`?before=<microseconds since 1970>.<pk>`: the last point of the previous page."""
    micros, _, raw_pk = raw.partition(".")
    pk = bounds.parse_id(raw_pk)
    if not micros.lstrip("-").isdigit() or pk is None:
        return None
    try:
        when = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when, pk


def cursor_of(point: DataPoint) -> str:
    return f"{round(point.time.timestamp() * 1_000_000)}.{point.pk}"


def points_page(kpi: KPI, before: str) -> tuple[list[DataPoint], str]:
    """Newest first, every version (corrected ones too); and the next page's cursor."""
    points = DataPoint.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
    cursor = parse_cursor(before)
    if cursor is not None:
        when, pk = cursor
        # The plain bound on time lets the (organization, kpi, time) index do the work.
        points = points.filter(Q(time__lt=when) | Q(pk__lt=pk), time__lte=when)
    shown = list(
        points.select_related("author", "replaced_by__author").order_by("-time", "-pk")[
            : POINTS_PER_PAGE + 1
        ]
    )
    older = (
        cursor_of(shown[POINTS_PER_PAGE - 1]) if len(shown) > POINTS_PER_PAGE else ""
    )
    return shown[:POINTS_PER_PAGE], older


def live_context(
    request: HttpRequest,
    membership: Membership,
    kpi: KPI,
    *,
    add_form: PointForm | None = None,
    fixing: tuple[int, CorrectionForm] | None = None,
) -> dict[str, Any]:
    """The part of the page that data entry refreshes: numbers, chart, tables."""
    view: KPIView = load_kpi_views([kpi], locale=membership.organization.locale)[kpi.pk]
    rows = load_windows(kpi, membership.organization.locale)
    before = request.POST.get("before", request.GET.get("before", ""))
    points, older = points_page(kpi, before)
    windows_page: Page[WindowRow] = Paginator(
        rows[::-1], WINDOWS_PER_PAGE, allow_empty_first_page=True
    ).get_page(request.GET.get("wpage"))
    can_write = membership.can_write
    return {
        "kpi": kpi,
        "view": view,
        "chart": chart_data(kpi, rows, membership.organization.locale),
        "windows_page": windows_page,
        "point_count": sum(r.count for r in rows),
        "points": points,
        "before": before if parse_cursor(before) else "",
        "older": older,
        "can_write": can_write,
        "add_form": (add_form or new_point_form()) if can_write else None,
        "fixing_pk": fixing[0] if fixing else None,
        "fix_form": fixing[1] if fixing else CorrectionForm(),
        "can_fix": can_write
        and view.health in {health.Health.UNHEALTHY, health.Health.WARNING},
    }


def kpi_field(name: str) -> "models.Field[Any, Any]":
    field = KPI._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"KPI.{name} is a relation's other side, not a field.")
    return field


def shown_value(record: Any, name: str) -> str:
    field = kpi_field(name)
    value = getattr(record, name)
    if field.is_relation:
        return getattr(value, "display_name", None) or (str(value) if value else "—")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value)) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def edits_of(kpi: KPI) -> list[Edit]:
    """Who changed what and when, newest first (django-simple-history records)."""
    records = list(
        kpi.history.select_related("history_user", "owner", "team").order_by(
            "-history_date", "-history_id"
        )[: HISTORY_SHOWN + 1]
    )
    edits = []
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous, excluded_fields=["organization"])
            changes = [
                Change(
                    field=str(kpi_field(c.field).verbose_name),
                    old=shown_value(previous, c.field),
                    new=shown_value(record, c.field),
                )
                for c in delta.changes
            ]
        user = record.history_user
        edits.append(
            Edit(
                when=record.history_date,
                who=user.display_name if user else "the system",
                kind={"+": "created", "-": "deleted"}.get(
                    record.history_type, "changed"
                ),
                changes=changes,
            )
        )
    # The extra record was only there to diff the oldest shown one against.
    edits = edits[:HISTORY_SHOWN]
    for source in KPI_EDIT_SOURCES:
        edits += source(kpi, HISTORY_SHOWN)
    edits.sort(key=lambda edit: edit.when, reverse=True)
    return edits[:HISTORY_SHOWN]


# Views


@require_GET
@member_required
def kpi_chart_data(request: HttpRequest, pk: int) -> JsonResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk)
    locale = membership.organization.locale
    return JsonResponse(chart_data(kpi, load_windows(kpi, locale), locale))


def after_write(
    request: HttpRequest,
    membership: Membership,
    kpi: KPI,
    form: forms.Form,
    saved: bool,
    done: str,
    **live: Any,
) -> HttpResponse:
    """htmx gets the refreshed fragment; a plain POST goes back with a message."""
    if not is_partial(request):
        if saved:
            messages.success(request, done)
        else:
            problems = [str(e) for errs in form.errors.values() for e in errs]
            messages.error(request, "Nothing was saved: " + " ".join(problems))
        return redirect(reverse("kpi", args=[kpi.pk]))
    context = live_context(request, membership, kpi, **live)
    context["just_saved"] = done if saved else ""
    return render(request, "kpis/kpi_live.html", context)


def save(form: forms.Form, action: Any, **kwargs: Any) -> bool:
    """Call the action; its ValidationError becomes errors next to the form's fields."""
    try:
        action(**kwargs)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errs in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            form.add_error(None, error)
        return False
    return True


@require_POST
@member_required
def point_add(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    form = PointForm(request.POST)
    saved = form.is_valid() and save(
        form,
        actions.record_data_point,
        kpi=kpi,
        value=form.cleaned_data["value"],
        time=form.cleaned_data["time"],
        note=form.cleaned_data["note"],
        author=membership.user,
    )
    return after_write(
        request,
        membership,
        kpi,
        form,
        saved,
        "Value saved.",
        add_form=None if saved else form,
    )


@require_POST
@member_required
def point_correct(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    point = get_point_for_member(membership, pk, write=True)
    kpi = point.kpi  # loaded with the point, and already checked for this member
    form = CorrectionForm(request.POST)
    saved = form.is_valid() and save(
        form,
        actions.correct_data_point,
        point=point,
        value=form.cleaned_data["value"],
        note=form.cleaned_data["note"],
        author=membership.user,
    )
    return after_write(
        request,
        membership,
        kpi,
        form,
        saved,
        "Value corrected; the earlier value stays in the history.",
        fixing=None if saved else (point.pk, form),
    )


@dataclass
class Preview:
    rows: list[ParsedRow]
    errors: list[RowError]
    text: str
    replacing: int  # rows whose time already has a value: they become corrections

    @property
    def first_rows(self) -> list[ParsedRow]:
        return self.rows[:PREVIEW_ROWS]


@require_http_methods(["GET", "POST"])
@member_required
def point_import(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    posted = request.method == "POST"
    form = ImportForm(request.POST, request.FILES) if posted else ImportForm()
    preview = None
    if posted and form.is_valid():
        text: str = form.cleaned_data["text"]
        tz = timezone.get_current_timezone()
        rows, errors = parse_csv(text, default_tz=tz, now=timezone.now())
        if not rows and not errors:
            errors = [RowError(0, "The file has no values.")]
        if not errors and request.POST.get("confirm") == "1":
            try:
                count = actions.import_data_points(
                    kpi=kpi, rows=rows, author=membership.user
                )
            except ValidationError as error:
                errors = [RowError(0, m) for m in error.messages]
            else:
                messages.success(request, f"Imported {count:,} values.")
                return redirect("kpi", pk=kpi.pk)
        preview = Preview(rows, errors, text, replacing=replacing(kpi, rows))
    return render(
        request,
        "kpis/import.html",
        {
            "kpi": kpi,
            "form": form,
            "preview": preview,
            "max_rows": f"{MAX_ROWS:,}",
            "tz_name": timezone.get_current_timezone_name(),
        },
    )


def replacing(kpi: KPI, rows: Sequence[ParsedRow]) -> int:
    if not rows:
        return 0
    return DataPoint.objects.filter(
        organization_id=kpi.organization_id,
        kpi=kpi,
        is_current=True,
        time__in=[r.time for r in rows],
    ).count()
