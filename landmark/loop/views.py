"""The pages where KPIs and OKRs meet: the KPI dashboard (which KPIs an OKR works
on), a KPI's page (the OKRs working on it) and its edit form (Raise the bar), Fix with
an OKR, Keep as a KPI, and the strategy map linking KPIs and OKRs.

They are KPI pages built from kpis' own pieces (kpis/views.py, kpis/detail_views.py)
with the OKR side added here, above both apps; their addresses and names are as before
(loop/urls.py).
"""

import copy
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.kpis import actions as kpi_actions
from landmark.kpis import health
from landmark.kpis.access import get_kpi_for_member, kpis_for_member
from landmark.kpis.detail_views import edits_of, live_context
from landmark.kpis.forms import KPIForm
from landmark.kpis.models import KPI, KPIQuerySet
from landmark.kpis.read import WINDOW_NOUN, KPIView, load_kpi_views
from landmark.kpis.views import (
    HEALTH_ORDER,
    CountedPaginator,
    H,
    current_healths,
    department_of,
    query_string,
)
from landmark.lib import bounds, numbers
from landmark.lib.forms import run_action
from landmark.lib.http import safe_next
from landmark.loop import actions as loop
from landmark.loop import coach
from landmark.loop.actions import kpis_with_okrs
from landmark.okrs.access import (
    current_period,
    get_key_result_for_member,
    get_period_for_member,
    objectives_for_member,
    period_for_new_work,
    periods_for_member,
)
from landmark.okrs.models import (
    Objective,
    ObjectiveKPI,
    Period,
    next_if_ending,
)
from landmark.okrs.tree import ObjectiveView, evaluate
from landmark.orgs.access import (
    get_team_for_member,
    member_required,
    membership_of,
    require_write,
    team_choices,
)
from landmark.orgs.models import Membership

PAGE_SIZE = 36  # tiles per dashboard page (a screenful or two), in any organization
# The strategy map shows the first unhealthy KPIs without an OKR as tiles (a screenful:
# the rest are one click away on the dashboard, filtered) and lists objectives aligned
# to no KPI as rows; each section says how many it leaves out.
UNHEALTHY_SHOWN = 12
UNALIGNED_SHOWN = 60
# The dashboard's "needs attention" strip: the first unhealthy, then stale KPIs (the
# rest are counted, one click away filtered by health).
ATTENTION_SHOWN = 8


# KPIs and the OKRs working on them


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


def okrs_for(membership: Membership, kpi: KPI) -> list[ObjectiveView]:
    """The open OKRs working on the KPI that this member may see, with progress."""
    objectives = list(
        objectives_for_member(membership)
        .filter(pk__in=loop.okrs_working_on(kpi).values("pk"))
        .with_tree_data(kpis=kpis_for_member(membership))
        .order_by("period__start", "title")
    )
    return list(evaluate(objectives, membership.organization).values())


# The dashboard


@dataclass
class Attention:
    """A KPI in the dashboard's "needs attention" strip."""

    kpi: KPI
    health: health.Health
    okr_working: bool
    locale: str  # the organization's

    @property
    def health_label(self) -> str:
        return health.HEALTH_LABELS[self.health]

    @property
    def current_label(self) -> str:
        return numbers.amount(self.kpi.current_value, self.kpi.unit, self.locale)

    @property
    def needs_fixing(self) -> bool:
        return self.health == H.UNHEALTHY


def needs_attention(kpis: KPIQuerySet, *, limit: int = ATTENTION_SHOWN) -> list[KPI]:
    """The first `limit` KPIs of `kpis` that are unhealthy, then stale (their stored
    current health, as the dashboard's counts), key KPIs first: one query, always
    run, so that the dashboard costs the same queries whatever the KPIs' health."""
    return list(
        kpis.with_health()
        .filter(health__in=[H.UNHEALTHY, H.STALE])  # type: ignore[misc]  # annotation
        .annotate(
            attention=Case(
                When(health=H.UNHEALTHY, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("attention", "-is_key", Lower("name"), "pk")[:limit]
    )


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
    views = load_kpi_views(shown, locale=membership.organization.locale)
    attention_rows = needs_attention(kpis)
    # Which KPIs an OKR works on, for the tiles and the strip at once (one query).
    working = kpis_with_okrs(
        membership, sorted({k.pk for k in shown} | {k.pk for k in attention_rows})
    )
    tiles = [Tile(view=views[k.pk], okr_working=k.pk in working) for k in shown]
    attention = [
        Attention(
            kpi=k,
            health=H(k.health),  # type: ignore[attr-defined]  # with_health's annotation
            okr_working=k.pk in working,
            locale=membership.organization.locale,
        )
        for k in attention_rows
    ]
    filtered = bool(team or category or wanted or key_only)
    return render(
        request,
        "kpis/dashboard.html",
        {
            "groups": grouped(tiles),
            "attention": attention,
            "attention_more": counts[H.UNHEALTHY] + counts[H.STALE] - len(attention),
            "attention_query": query_string(params, health=H.UNHEALTHY),
            "stale_query": query_string(params, health=H.STALE),
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
            # Once for every tile's Fix with an OKR; for every writer, so that the page
            # costs the same queries whichever KPIs need fixing.
            "fix_choice": fix_choice(membership) if membership.can_write else None,
        },
    )


# One KPI


@require_GET
@member_required
def kpi_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk)
    context = live_context(request, membership, kpi)
    context["okrs"] = okrs_for(membership, kpi)
    context["edits"] = edits_of(kpi)
    # The coach's findings on this KPI; a raised target counts in the current period.
    context["coach_period"] = period = current_period(membership)
    context["coach"] = coach.kpi_findings(membership, period, kpi=kpi)
    return render(request, "kpis/kpi.html", context)


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
        update = run_action(form, kpi_actions.update_kpi, kpi=kpi, **fields)
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
    """Raise the bar (docs/kpis.md, "Where KPIs and OKRs meet"), with the one-click way
    out in the message."""
    return format_html(
        "You raised the bar on this KPI without an OKR working on it. Targets alone "
        "don't improve results: consider an OKR. "
        '<form class="inline-button" method="post" action="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit">Fix with an OKR</button></form>',
        reverse("kpi_fix_with_okr", args=[kpi.pk]),
        get_token(request),
    )


# Fix with an OKR, Keep as a KPI


@dataclass
class FixChoice:
    """The periods Fix with an OKR can draft into, and the one chosen by default."""

    periods: list[Period]
    default: Period | None


def fix_choice(membership: Membership) -> FixChoice:
    periods = list(periods_for_member(membership))
    return FixChoice(
        periods=[p for p in periods if not p.is_closed],
        default=next_if_ending(periods, timezone.localdate()),
    )


@require_POST
@member_required
def kpi_fix_with_okr(request: HttpRequest, pk: int) -> HttpResponse:
    """Fix with an OKR (docs/kpis.md, "Where KPIs and OKRs meet"): from an unhealthy
    KPI, draft an objective that works on it, in the period chosen (by default the
    current one, or the next one when the current one is about to end)."""
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    period_id = request.POST.get("period", "")
    period_pk = bounds.parse_id(period_id)
    period = (
        get_period_for_member(membership, period_pk)
        if period_pk is not None
        else period_for_new_work(membership)
    )
    back = safe_next(request) or reverse("kpi", args=[kpi.pk])
    if period is None:
        messages.error(request, "Create a period first: the objective needs one.")
        return redirect(back)
    try:
        objective = loop.fix_with_okr(kpi=kpi, period=period, owner=membership.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(
        request,
        f"Drafted “{objective.title}” in {period.name}, with a key result to bring "
        f"{kpi.name} to its target. Find the cause, add key results, then make it active.",
    )
    return redirect("objective", pk=objective.pk)


@require_POST
@member_required
def key_result_keep_as_kpi(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep as a KPI (docs/kpis.md, "Where KPIs and OKRs meet"): a reached key result
    becomes a KPI that keeps being watched."""
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk)
    require_write(membership)
    try:
        kpi = loop.keep_as_kpi(key_result=key_result, author=membership.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("objective", pk=key_result.objective_id)
    messages.success(
        request,
        f"“{kpi.name}” is now a KPI with {key_result.checkins_count} values from the check-ins. "
        "Set its frequency and category if needed.",
    )
    return redirect("kpi", pk=kpi.pk)


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
    shown = [r.pk for r in [*mapped_rows, *unhealthy_rows[:UNHEALTHY_SHOWN]]]
    full = kpis.select_related("team", "owner").in_bulk(shown)
    mapped = [full[r.pk] for r in mapped_rows]
    unhealthy = [full[r.pk] for r in unhealthy_rows[:UNHEALTHY_SHOWN]]
    views = load_kpi_views([*mapped, *unhealthy], locale=membership.organization.locale)
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
        unaligned=unaligned[:UNALIGNED_SHOWN],
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
