"""KPI set-up pages (a new KPI, targets per window) and what the lists of KPIs are made
of (health rows, departments, filters). One KPI's data: detail_views.py. The pages
that show OKRs too (the dashboard, a KPI's page and its edit form, Fix with an OKR,
the strategy map) are in loop/views.py."""

from datetime import datetime
from typing import Any, NamedTuple

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from landmark.kpis import actions, health, picker
from landmark.kpis.access import get_kpi_for_member, kpis_for_member
from landmark.kpis.forms import KPIForm, TargetScheduleForm
from landmark.kpis.models import KPI, KPIQuerySet, KPITarget
from landmark.lib import bounds
from landmark.lib.forms import run_action
from landmark.orgs.access import (
    member_required,
    membership_of,
    require_write,
)
from landmark.orgs.models import Team

WINDOWS = 12  # windows a tile shows (and health is read from), as load_kpi_views
H = health.Health
HEALTH_ORDER = [H.UNHEALTHY, H.WARNING, H.HEALTHY, H.STALE, H.NO_DATA, H.NO_TARGET]


# Health of many KPIs at once


class CountedPaginator(Paginator[KPI]):
    """A paginator told its count (already known from the health counts)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


class HealthRow(NamedTuple):
    """A KPI's current health and what the dashboard sorts and groups it by."""

    pk: int
    name: str
    is_key: bool
    team_name: str | None
    team_kind: str | None
    health: health.Health


def current_healths(
    kpis: KPIQuerySet, *, now: datetime | None = None
) -> list[HealthRow]:
    """Every KPI of `kpis` with its current health, in dashboard order: one query of
    plain rows, health as stored by kpis.current (stale read at `now`)."""
    rows = (
        kpis.select_related(None)
        .with_health(now)
        .in_dashboard_order()
        .values_list(  # type: ignore[misc]  # `health` is with_health's annotation
            "pk", "name", "is_key", "team__name", "team__kind", "health"
        )
    )
    return [
        HealthRow(pk, name, is_key, team, kind, H(state))
        for pk, name, is_key, team, kind, state in rows
    ]


def department(team_name: str | None, team_kind: str | None) -> tuple[int, str]:
    """Sort key and heading of a KPI's group: KPIs with no team (or the company's
    own team) come first, under "Company"."""
    if team_name is None or team_kind == Team.Kind.COMPANY:
        return (0, "Company")
    return (1, team_name)


def department_of(kpi: KPI) -> tuple[int, str]:
    team = kpi.team
    return department(team.name, team.kind) if team else department(None, None)


def dashboard_order(row: HealthRow) -> tuple[Any, ...]:
    """Gauges keep their place: department, key KPIs first, then by name."""
    return (
        *department(row.team_name, row.team_kind),
        not row.is_key,
        row.name.lower(),
        row.pk,
    )


def query_string(params: QueryDict, **changes: str) -> str:
    """The current filters with some changed (an empty value drops the filter)."""
    query = params.copy()
    query.pop("page", None)
    for name, value in changes.items():
        query.pop(name, None)
        if value:
            query[name] = value
    return query.urlencode()


# Setting KPIs up


@require_http_methods(["GET", "POST"])
@member_required
def kpi_create(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_write(membership)
    initial: dict[str, Any] = {"owner": membership.user_id}
    if (team_pk := bounds.parse_id(request.GET.get("team", ""))) is not None:
        initial["team"] = team_pk
    form = KPIForm(request.POST or None, membership=membership, initial=initial)
    if request.method == "POST" and form.is_valid():
        kpi = run_action(
            form, actions.create_kpi, org=membership.organization, **form.cleaned_data
        )
        if kpi is not None:
            messages.success(request, f"KPI “{kpi.name}” created. Now add its data.")
            return redirect("kpi", pk=kpi.pk)
    return render(
        request, "kpis/dashboard_kpi_form.html", {"form": form, "title": "New KPI"}
    )


@require_http_methods(["GET", "POST"])
@member_required
def kpi_targets(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    rows = list(KPITarget.objects.filter(organization=kpi.organization_id, kpi=kpi))
    form = TargetScheduleForm(
        request.POST or None,
        kpi=kpi,
        initial={"schedule": TargetScheduleForm.as_text(kpi, rows)},
    )
    if request.method == "POST" and form.is_valid():
        schedule = form.cleaned_data["schedule"]
        run_action(form, actions.set_kpi_targets, kpi=kpi, schedule=schedule)
        if not form.errors:
            messages.success(
                request,
                f"{len(schedule)} target{'s' if len(schedule) != 1 else ''} per window saved."
                if schedule
                else "Targets per window removed; every window uses the KPI's target.",
            )
            return redirect("kpi", pk=kpi.pk)
    return render(
        request,
        "kpis/targets.html",
        {"form": form, "kpi": kpi, "title": f"Targets per window for “{kpi.name}”"},
    )


@require_GET
@member_required
def kpi_picker(request: HttpRequest) -> HttpResponse:
    """The KPI picker's choices as one types (kpis.picker): the chosen KPIs and a page
    of matches, among those the member may see. `field` names the form field: `kpis`
    (several, an objective's) or `kpi` (one, a key result's)."""
    membership = membership_of(request)
    field = request.GET.get("field", "")
    if field not in {"kpis", "kpi"}:
        field = "kpis"
    multiple = field == "kpis"
    chosen = picker.chosen_ids(request.GET.getlist(field))
    if not multiple:
        chosen = chosen[:1]
    kpis = kpis_for_member(membership).filter(archived=False)
    found = picker.pick(kpis, chosen=chosen, query=request.GET.get(f"{field}_q", ""))
    return render(
        request,
        "kpis/kpi_picker_options.html",
        {"p": {"name": field, "multiple": multiple, **found}},
    )
