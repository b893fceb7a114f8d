"""KPI pages: the dashboard, KPI set-up, targets per window, Fix with an OKR and the
strategy map linking KPIs and OKRs. (One KPI's page and its data: detail_views.py.)"""

import copy
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.kpis import actions, health
from landmark.kpis.access import get_kpi_for_member, kpis_for_member
from landmark.kpis.forms import KPIForm, TargetScheduleForm
from landmark.kpis.models import KPI, KPIQuerySet, KPITarget
from landmark.kpis.read import WINDOW_NOUN, KPIView, load_kpi_views
from landmark.lib import bounds
from landmark.lib.forms import run_action
from landmark.lib.http import safe_next
from landmark.okrs.access import (
    current_period,
    get_period_for_member,
    objectives_for_member,
    periods_for_member,
)
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI, Period
from landmark.okrs.tree import ObjectiveView, evaluate
from landmark.orgs.access import (
    get_team_for_member,
    member_required,
    membership_of,
    require_write,
    team_choices,
)
from landmark.orgs.models import Membership, Team

PAGE_SIZE = 36  # tiles per dashboard page (a screenful or two), in any organization
WINDOWS = 12  # windows a tile shows (and health is read from), as load_kpi_views
MAP_LIMIT = 60  # unhealthy KPIs without an OKR, and objectives without a KPI, shown
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


@dataclass
class Tile:
    view: KPIView
    okr_working: bool = False  # an objective of an open period works on it
    objectives: list[ObjectiveView] = field(default_factory=list)  # strategy map

    @property
    def kpi(self) -> KPI:
        return self.view.kpi

    @property
    def streak_label(self) -> str:
        n = self.view.streak
        if not n:
            return ""
        noun = WINDOW_NOUN[self.kpi.frequency]
        return f"{n} {noun}{'s' if n != 1 else ''} unhealthy"

    @property
    def needs_fixing(self) -> bool:
        return self.view.health == H.UNHEALTHY


@dataclass
class Group:
    name: str
    tiles: list[Tile]


def grouped(tiles: Iterable[Tile]) -> list[Group]:
    groups: dict[tuple[int, str], Group] = {}
    for tile in tiles:
        key = department_of(tile.kpi)
        groups.setdefault(key, Group(name=key[1], tiles=[])).tiles.append(tile)
    return [groups[k] for k in sorted(groups)]


def kpis_with_okrs(membership: Membership, kpi_ids: Sequence[int]) -> set[int]:
    """Which of these KPIs an objective of an open period works on (one query)."""
    if not kpi_ids:
        return set()
    working = (
        objectives_for_member(membership)
        .exclude(period__state=Period.State.CLOSED)
        .exclude(state=Objective.State.CLOSED)
        .values("pk")
    )
    # A UNION of two indexed lookups: OR-ed joins with DISTINCT made the planner scan
    # every organization's key results.
    org = membership.organization
    linked = (
        ObjectiveKPI.objects.filter(
            organization=org, kpi_id__in=kpi_ids, objective__in=working
        )
        .order_by()
        .values_list("kpi_id", flat=True)
    )
    tracked = (
        KeyResult.objects.filter(
            organization=org, kpi_id__in=kpi_ids, objective__in=working
        )
        .order_by()
        .values_list("kpi_id", flat=True)
    )
    return set(linked.union(tracked))


def query_string(params: QueryDict, **changes: str) -> str:
    """The current filters with some changed (an empty value drops the filter)."""
    query = params.copy()
    query.pop("page", None)
    for name, value in changes.items():
        query.pop(name, None)
        if value:
            query[name] = value
    return query.urlencode()


# The dashboard


@require_GET
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    params = request.GET
    # No category holds a NUL character (PostgreSQL text cannot): drop any sent.
    team_id = params.get("team", "")
    category = params.get("category", "").replace("\x00", "")
    wanted = params.get("health", "")
    wanted = wanted if wanted in H.__members__.values() else ""
    key_only, show_archived = params.get("key") == "1", params.get("archived") == "1"
    team_pk = bounds.parse_id(team_id)
    team = get_team_for_member(membership, team_pk) if team_pk is not None else None

    kpis = kpis_for_member(membership).select_related("team", "owner")
    if not show_archived:
        kpis = kpis.filter(archived=False)
    if team is not None:
        subtree = team.descendants(include_self=True).values_list("pk", flat=True)
        kpis = kpis.filter(team_id__in=list(subtree))
    if category:
        kpis = kpis.filter(category=category)
    if key_only:
        kpis = kpis.filter(is_key=True)
    # Counts and the page's KPIs by stored health, in SQL: the dashboard reads the
    # KPIs it shows and one count per health, however many KPIs match.
    counts = Counter(
        {
            H(state): n
            for state, n in kpis.with_health()
            .order_by()
            .values_list("health")  # type: ignore[misc]  # with_health's annotation
            .annotate(n=Count("pk"))
        }
    )
    matching = kpis.with_health().in_dashboard_order()
    if wanted:
        matching = matching.filter(health=wanted)  # type: ignore[misc]  # annotation
    page = CountedPaginator(
        matching, PAGE_SIZE, count=counts[H(wanted)] if wanted else counts.total()
    ).get_page(params.get("page"))
    shown: list[KPI] = list(page.object_list)
    views = load_kpi_views(shown)
    working = kpis_with_okrs(membership, [k.pk for k in shown])
    tiles = [Tile(view=views[k.pk], okr_working=k.pk in working) for k in shown]
    filtered = bool(team or category or wanted or key_only)
    return render(
        request,
        "kpis/dashboard.html",
        {
            "groups": grouped(tiles),
            "page": page,
            "total": counts.total(),
            "health_counts": [
                (h, health.HEALTH_LABELS[h], counts[h], query_string(params, health=h))
                for h in HEALTH_ORDER
                if counts[h]
            ],
            "teams": team_choices(membership, team),
            "categories": kpis_for_member(membership)
            .exclude(category="")
            .order_by("category")
            .values_list("category", flat=True)
            .distinct(),
            "selected": {
                "team": team_id,
                "category": category,
                "health": wanted,
                "key": key_only,
                "archived": show_archived,
            },
            "healths": [(h.value, health.HEALTH_LABELS[h]) for h in HEALTH_ORDER],
            "filtered": filtered,
            "any_kpis": bool(counts)
            or (filtered and kpis_for_member(membership).exists()),
            "page_query": query_string(params),
            "all_health_query": query_string(params, health=""),
        },
    )


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
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    # The form validates on a copy: the action compares the old target with the new
    # one to notice a raised bar.
    form = KPIForm(request.POST or None, instance=copy.copy(kpi), membership=membership)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if "target_kind" in fields:
            fields.update(
                target_low=form.cleaned_data["target_low"],
                target_high=form.cleaned_data["target_high"],
            )
        update = run_action(form, actions.update_kpi, kpi=kpi, **fields)
        if update is not None:
            # "Without an OKR" as this member sees it: an objective they may not see
            # must not be given away by a missing warning.
            if update.raised and not kpis_with_okrs(membership, [kpi.pk]):
                messages.warning(request, raised_bar_message(request, kpi))
            else:
                messages.success(request, "KPI saved.")
            return redirect("kpi", pk=kpi.pk)
        kpi.refresh_from_db()
    return render(
        request,
        "kpis/dashboard_kpi_form.html",
        {"form": form, "title": f"Edit “{kpi.name}”", "kpi": kpi},
    )


def raised_bar_message(request: HttpRequest, kpi: KPI) -> str:
    """PRODUCT.md §3 "Raise the bar", with the one-click way out in the message."""
    return format_html(
        "You raised the bar on this KPI without an OKR working on it. Targets alone "
        "don't improve results: consider an OKR. "
        '<form class="inline-button" method="post" action="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit">Fix with an OKR</button></form>',
        reverse("kpi_fix_with_okr", args=[kpi.pk]),
        get_token(request),
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


@require_POST
@member_required
def kpi_fix_with_okr(request: HttpRequest, pk: int) -> HttpResponse:
    """PRODUCT.md §3: from an unhealthy KPI, draft an objective that works on it."""
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    period_id = request.POST.get("period", "")
    period_pk = bounds.parse_id(period_id)
    period = (
        get_period_for_member(membership, period_pk)
        if period_pk is not None
        else current_period(membership)
    )
    back = safe_next(request) or reverse("kpi", args=[kpi.pk])
    if period is None:
        messages.error(request, "Create a period first: the objective needs one.")
        return redirect(back)
    try:
        objective = actions.fix_with_okr(kpi=kpi, period=period, owner=membership.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(
        request,
        f"Drafted “{objective.title}” in {period.name}, with a key result to bring "
        f"{kpi.name} to its target. Find the cause, add key results, then make it active.",
    )
    return redirect("objective", pk=objective.pk)


# The strategy map


@dataclass
class StrategyMap:
    groups: list[Group]  # KPIs that objectives of the period work on
    unhealthy: list[Tile]  # unhealthy KPIs that no objective of the period works on
    unhealthy_total: int
    unaligned: list[ObjectiveView]  # objectives working on no KPI, nor their parents
    unaligned_total: int
    objectives_total: int


def strategy_of(membership: Membership, period: Period) -> StrategyMap:
    visible_kpis = kpis_for_member(membership)
    objectives = list(
        objectives_for_member(membership)
        .in_period(period)
        .with_tree_data(kpis=visible_kpis)
    )
    progress = evaluate(objectives, membership.organization)
    # Objective → the KPIs it works on that this member may see: a link to a hidden
    # KPI counts nowhere on the map (not even as "aligned").
    links: dict[int, set[int]] = defaultdict(set)
    for objective_id, kpi_id in ObjectiveKPI.objects.filter(
        organization=membership.organization,
        objective__period=period,
        kpi__in=visible_kpis.values("pk"),
    ).values_list("objective_id", "kpi_id"):
        links[objective_id].add(kpi_id)
    for objective in objectives:
        for kr in objective.key_results.all():
            if kr.kpi is not None:  # None when the KPI is hidden (with_tree_data)
                links[objective.pk].add(kr.kpi.pk)
    working_on: dict[int, list[ObjectiveView]] = defaultdict(list)
    for objective in objectives:
        for kpi_id in sorted(links[objective.pk]):
            working_on[kpi_id].append(progress[objective.pk])
    linked = set(working_on)
    kpis = visible_kpis.filter(Q(archived=False) | Q(pk__in=linked))
    states = current_healths(kpis)
    mapped_rows = [r for r in states if r.pk in linked]  # (in dashboard order)
    unhealthy_rows = [
        r for r in states if r.health == H.UNHEALTHY and r.pk not in linked
    ]
    shown = [r.pk for r in [*mapped_rows, *unhealthy_rows[:MAP_LIMIT]]]
    full = kpis.select_related("team", "owner").in_bulk(shown)
    mapped = [full[r.pk] for r in mapped_rows]
    unhealthy = [full[r.pk] for r in unhealthy_rows[:MAP_LIMIT]]
    views = load_kpi_views([*mapped, *unhealthy])
    by_pk = {o.pk: o for o in objectives}

    def aligned(objective: Objective) -> bool:
        seen: set[int] = set()
        current: Objective | None = objective
        while current is not None and current.pk not in seen:
            if links[current.pk]:
                return True
            seen.add(current.pk)
            current = by_pk.get(current.parent_id) if current.parent_id else None
        return False

    unaligned = [progress[o.pk] for o in objectives if not aligned(o)]
    return StrategyMap(
        groups=grouped(
            Tile(view=views[k.pk], objectives=working_on[k.pk]) for k in mapped
        ),
        unhealthy=[Tile(view=views[k.pk]) for k in unhealthy],
        unhealthy_total=len(unhealthy_rows),
        unaligned=unaligned[:MAP_LIMIT],
        unaligned_total=len(unaligned),
        objectives_total=len(objectives),
    )


@require_GET
@member_required
def strategy_map(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    period_id = request.GET.get("period", "")
    period_pk = bounds.parse_id(period_id)
    period = (
        get_period_for_member(membership, period_pk)
        if period_pk is not None
        else current_period(membership)
    )
    return render(
        request,
        "kpis/strategy.html",
        {
            "periods": periods_for_member(membership),
            "period": period,
            "map": strategy_of(membership, period) if period else None,
            "can_fix": membership.can_write and period and not period.is_closed,
        },
    )
