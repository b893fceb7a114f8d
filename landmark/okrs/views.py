"""OKR pages: my focus, the tree, objective pages, check-ins and period close."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Prefetch, Q, Value, When
from django.db.models.functions import Lower
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.kpis.access import kpis_for_member
from landmark.kpis.health import HEALTH_LABELS, Health
from landmark.kpis.models import KPI
from landmark.kpis.picker import KPIPicker
from landmark.kpis.read import load_kpi_views
from landmark.lib import bounds
from landmark.lib import numbers as written
from landmark.lib.forms import run_action, run_update
from landmark.lib.http import is_partial, safe_next
from landmark.lib.svg import Frame, time_chart
from landmark.okrs import actions, onboarding, scoring
from landmark.okrs.access import (
    current_period,
    focus_count,
    focus_key_results,
    get_initiative_for_member,
    get_key_result_for_member,
    get_objective_for_member,
    get_period_for_member,
    key_results_for_member,
    objectives_for_member,
    periods_for_member,
    require_open,
)
from landmark.okrs.activity import objective_activity
from landmark.okrs.checkin_import import MAX_ROWS as MAX_IMPORT_ROWS
from landmark.okrs.checkin_import import read_checkins
from landmark.okrs.forms import (
    CheckInForm,
    CheckInImportForm,
    ClosePeriodForm,
    GradeForm,
    InitiativeForm,
    KeyResultForm,
    KudosForm,
    ObjectiveForm,
    PeriodForm,
)
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    ObjectiveKPI,
    Period,
    week_start,
)
from landmark.okrs.tree import (
    evaluate,
    evaluate_key_result,
    expected_line,
    load_tree,
    progress_history,
)
from landmark.okrs.tree import (
    objective_as_of as tree_as_of,
)
from landmark.orgs.access import (
    get_team_for_member,
    member_required,
    membership_of,
    org_users,
    require_admin,
    require_write,
    team_choices,
)
from landmark.orgs.models import Membership, TeamMember

FOCUS_KPIS_SHOWN = 12  # My focus lists the first KPIs I own or watch, worst first
# Worst first: what My focus lists KPIs by.
FOCUS_KPI_ORDER = [
    Health.UNHEALTHY,
    Health.WARNING,
    Health.STALE,
    Health.NO_DATA,
    Health.NO_TARGET,
    Health.HEALTHY,
]


@dataclass
class FocusKPI:
    kpi: KPI
    health: Health
    locale: str  # the organization's

    @property
    def health_label(self) -> str:
        return HEALTH_LABELS[self.health]

    @property
    def current_label(self) -> str:
        return written.amount(self.kpi.current_value, self.kpi.unit, self.locale)


def my_kpis(membership: Membership) -> tuple[list[FocusKPI], bool]:
    """The KPIs I own or watch that I may see, unhealthy first, by their stored
    current health (one query), and whether there are more than shown.

    Watches are notify's (a layer above): read by model name, not imported."""
    watch = apps.get_model("notify", "KPIWatch")
    watched = watch.objects.filter(
        organization_id=membership.organization_id, user_id=membership.user_id
    ).values("kpi_id")
    rank = Case(
        *(When(health=h, then=Value(i)) for i, h in enumerate(FOCUS_KPI_ORDER)),
        output_field=IntegerField(),
    )
    rows = list(
        kpis_for_member(membership)
        .filter(archived=False)
        .filter(Q(owner_id=membership.user_id) | Q(pk__in=watched))
        .with_health()
        .annotate(rank=rank)
        .order_by("rank", "-is_key", Lower("name"), "pk")[: FOCUS_KPIS_SHOWN + 1]
    )
    shown = [
        FocusKPI(
            kpi=k,
            health=Health(k.health),  # type: ignore[attr-defined]  # annotation
            locale=membership.organization.locale,
        )
        for k in rows[:FOCUS_KPIS_SHOWN]
    ]
    return shown, len(rows) > FOCUS_KPIS_SHOWN


PACE_CHOICES = [(p.value, scoring.PACE_LABELS[p]) for p in scoring.PACE_ORDER]


@require_GET
@member_required
def focus(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    org, user, now = membership.organization, membership.user, timezone.now()
    my_krs = (
        focus_key_results(membership)
        .select_related("objective__period", "owner")
        .order_by("last_checkin_at", "pk")
    )
    due, up_to_date = [], []
    for kr in my_krs:
        view = evaluate_key_result(kr, kr.objective.period, org, now)
        if kr.awaits_checkin(kr.objective.period, org, now):
            due.append(view)
        else:
            up_to_date.append(view)
    my_objectives = list(
        objectives_for_member(membership)
        .filter(owner=user, period__state=Period.State.ACTIVE)
        .exclude(state=Objective.State.CLOSED)
        .with_tree_data(kpis=kpis_for_member(membership))
    )
    objective_views = list(evaluate(my_objectives, org, now).values())
    team_ids = TeamMember.objects.filter(organization=org, user=user).values("team_id")
    recent = (
        CheckIn.objects.filter(
            organization=org,
            key_result__objective__in=objectives_for_member(membership).filter(
                team_id__in=team_ids
            ),
        )
        .select_related("author", "key_result__objective")
        .order_by("-created_at", "-pk")[:15]
    )
    kpis, more_kpis = my_kpis(membership)
    return render(
        request,
        "okrs/focus.html",
        {
            "my_kpis": kpis,
            "more_kpis": more_kpis,
            "due": due,
            "up_to_date": up_to_date,
            "objectives": objective_views,
            "recent": recent,
            "week_start": week_start(now, org),
            "focus_count": len(due),  # the menu's number, without counting again
        },
    )


@require_GET
@member_required
def tree(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    periods = list(periods_for_member(membership))
    period_id = bounds.parse_id(request.GET.get("period", ""))
    period = (
        get_period_for_member(membership, period_id)
        if period_id is not None
        else current_period(membership)
    )
    team_id, owner_id, status = (
        request.GET.get("team", ""),
        request.GET.get("owner", ""),
        request.GET.get("status", ""),
    )
    team_pk, owner_pk = bounds.parse_id(team_id), bounds.parse_id(owner_id)
    team = get_team_for_member(membership, team_pk) if team_pk is not None else None
    context: dict[str, Any] = {
        "periods": periods,
        "period": period,
        "teams": team_choices(membership, team),
        "owners": [],
        "statuses": PACE_CHOICES,
        "selected": {"team": team_id, "owner": owner_id, "status": status},
        "team": team,  # the team's page: its Coach box
        "tree": None,
    }
    if period is not None:
        context["tree"] = load_tree(
            membership,
            period,
            team=team,
            owner_id=owner_pk,
            status=status if status in scoring.Pace.__members__.values() else "",
        )
        # Only people who own an objective here: the list stays short in a large
        # organization, and every choice finds something.
        owner_ids = context["tree"].owner_ids | (
            {owner_pk} if owner_pk is not None else set()
        )
        context["owners"] = org_users(membership).filter(pk__in=owner_ids)
        context["tau_percent"] = round(period.time_share() * 100)
        context["can_write"] = membership.can_write and not period.is_closed
    return render(request, "okrs/tree.html", context)


def objective_numbers(membership: Membership, objective: Objective) -> dict[str, Any]:
    """What a check-in changes on the objective page: the headline numbers and
    chart, the check-in history and the activity (the check-in's htmx response
    swaps them in out of band, so the page never shows stale numbers)."""
    now = timezone.now()
    loaded = load_tree(membership, objective.period, subtree_of=objective, now=now)
    view = next(v for v in loaded.shown if v.objective.pk == objective.pk)
    kr_ids = [k.kr.pk for k in view.key_results]
    checkins = list(
        CheckIn.objects.filter(
            organization=membership.organization, key_result_id__in=kr_ids
        )
        .select_related("author")
        .order_by("-created_at", "-pk")
    )
    period = objective.period
    locale = membership.organization.locale
    history = progress_history(view, checkins)
    chart = time_chart(
        frame=Frame(start=period.starts_at, end=period.ends_at, low=0.0, high=1.0),
        series=history,
        expected=expected_line(view),
        now=now,
        y_labels=[
            (share, written.percent(share * 100, locale)) for share in (0, 0.5, 1)
        ],
        title="Progress over time against the expected line",
        value_label=lambda share: written.progress(share, locale),
    )
    return {
        "objective": objective,
        "view": view,
        "checkins": checkins,
        "chart": chart,
        "activity": objective_activity(objective, membership=membership, limit=10),
    }


def objective_context(membership: Membership, objective: Objective) -> dict[str, Any]:
    numbers = objective_numbers(membership, objective)
    view = numbers["view"]
    kr_ids = [k.kr.pk for k in view.key_results]
    period = objective.period
    can_write = membership.can_write and not period.is_closed
    # The KPIs it works on: linked to it, or tracked by one of its key results (already
    # loaded). Looked up by id: OR-ed joins with DISTINCT walked every KPI's key results.
    linked = ObjectiveKPI.objects.filter(
        organization=membership.organization, objective=objective
    ).values("kpi_id")
    tracked = {k.kr.kpi_id for k in view.key_results if k.kr.kpi_id is not None}
    kpis = list(
        kpis_for_member(membership)
        .filter(Q(pk__in=linked) | Q(pk__in=tracked))
        .select_related("team", "owner")
    )
    return {
        **numbers,
        "kpi_views": list(
            load_kpi_views(kpis, locale=membership.organization.locale).values()
        ),
        "children": view.children,
        "initiatives": Initiative.objects.filter(
            organization=membership.organization, key_result_id__in=kr_ids
        )
        .select_related("owner", "key_result")
        .order_by("key_result__position", "pk"),
        "kudos": Kudos.objects.filter(
            organization=membership.organization, objective=objective
        ).select_related("sender", "recipient"),
        "can_write": can_write,
        "checkin_forms": {
            k.kr.pk: CheckInForm(key_result=k.kr) for k in view.key_results
        }
        if can_write
        else {},
        "kudos_form": KudosForm(membership=membership, objective=objective)
        if membership.can_write
        else None,
    }


def form_page(
    form: ObjectiveForm | KeyResultForm, title: str, back: Objective | None = None
) -> dict[str, Any]:
    """The context of an objective's or key result's form page."""
    template = (
        "okrs/objective_fields.html"
        if isinstance(form, ObjectiveForm)
        else "okrs/key_result_fields.html"
    )
    return {"form": form, "title": title, "back": back, "fields_template": template}


def picking(request: HttpRequest, form: ObjectiveForm | KeyResultForm) -> bool:
    """The KPI picker's Find, sent without JavaScript: the form is shown again, as
    typed and not saved, with the KPIs matching its search text."""
    name = request.POST.get("_pick", "")
    if (
        request.method != "POST"
        or name not in {"kpis", "kpi"}
        or name not in form.fields
    ):
        return False
    widget = form.fields[name].widget
    if isinstance(widget, KPIPicker):
        widget.query = request.POST.get(f"{name}_q", "")
    form.hide_errors = True
    return True


@require_GET
@member_required
def objective_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    return render(
        request, "okrs/objective.html", objective_context(membership, objective)
    )


@require_http_methods(["GET", "POST"])
@member_required
def objective_create(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_write(membership)
    initial: dict[str, Any] = {"owner": membership.user_id}
    for key in ("parent", "period", "team", "level"):
        if request.GET.get(key):
            initial[key] = request.GET[key]
    if "period" not in initial and (period := current_period(membership)):
        initial["period"] = period.pk
    form = ObjectiveForm(request.POST or None, membership=membership, initial=initial)
    if picking(request, form):
        return render(request, "okrs/form.html", form_page(form, "New objective"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        objective = run_action(
            form, actions.create_objective, org=membership.organization, **data
        )
        if objective is not None:
            messages.success(request, "Objective created. Now add its key results.")
            return redirect("objective", pk=objective.pk)
    return render(request, "okrs/form.html", form_page(form, "New objective"))


@require_http_methods(["GET", "POST"])
@member_required
def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk, write=True)
    form = ObjectiveForm(
        request.POST or None, instance=objective, membership=membership
    )
    title = f"Edit “{objective.title}”"
    if picking(request, form):
        return render(request, "okrs/form.html", form_page(form, title, objective))
    if request.method == "POST" and form.is_valid():
        if run_update(form, actions.update_objective, objective=objective) is not None:
            messages.success(request, "Objective saved.")
            return redirect("objective", pk=objective.pk)
        objective.refresh_from_db()
    return render(request, "okrs/form.html", form_page(form, title, objective))


@require_POST
@member_required
def objective_activate(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate a draft in one click (objective page, tree row): the same right as
    editing it, recorded in its history like any edit."""
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk, write=True)
    try:
        actions.activate_objective(objective=objective)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{objective.title}” is active.")
    return redirect(safe_next(request) or reverse("objective", args=[objective.pk]))


@require_http_methods(["GET", "POST"])
@member_required
def key_result_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk, write=True)
    form = KeyResultForm(
        request.POST or (request.GET if is_partial(request) else None),
        membership=membership,
        objective=objective,
        initial={"owner": objective.owner_id},
    )
    title = f"New key result for “{objective.title}”"
    if is_partial(request) and request.method == "GET":
        form.hide_errors = True
        return render(request, "okrs/key_result_kind.html", {"form": form})
    if picking(request, form):
        page = form_page(form, title, objective)
        return render(request, "okrs/form.html", {**page, "add_another": True})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None and v != ""}
        if (
            run_action(form, actions.create_key_result, objective=objective, **data)
            is not None
        ):
            messages.success(request, "Key result added.")
            if "add_another" in request.POST:
                return redirect("key_result_create", pk=objective.pk)
            return redirect("objective", pk=objective.pk)
    page = form_page(form, title, objective)
    return render(request, "okrs/form.html", {**page, "add_another": True})


@require_http_methods(["GET", "POST"])
@member_required
def key_result_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk, write=True)
    objective = key_result.objective
    form = KeyResultForm(
        request.POST or (request.GET if is_partial(request) else None),
        instance=key_result,
        membership=membership,
        objective=objective,
    )
    title = f"Edit “{key_result.title}”"
    if is_partial(request) and request.method == "GET":
        form.hide_errors = True
        return render(request, "okrs/key_result_kind.html", {"form": form})
    if picking(request, form):
        return render(request, "okrs/form.html", form_page(form, title, objective))
    if request.method == "POST" and form.is_valid():
        if (
            run_action(
                form,
                actions.update_key_result,
                key_result=key_result,
                **form.changes(),
            )
            is not None
        ):
            messages.success(request, "Key result saved.")
            return redirect("objective", pk=objective.pk)
        key_result.refresh_from_db()
    return render(request, "okrs/form.html", form_page(form, title, objective))


@require_POST
@member_required
def key_result_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk, write=True)
    form = CheckInForm(request.POST, key_result=key_result)
    saved = False
    if form.is_valid():
        data = form.cleaned_data
        saved = (
            run_action(
                form,
                actions.record_checkin,
                key_result=key_result,
                author=membership.user,
                status=data["status"],
                value=data.get("value"),
                done=data.get("done"),
                confidence=data.get("confidence"),
                moved=data.get("moved", ""),
                blocks=data.get("blocks", ""),
            )
            is not None
        )
    if not is_partial(request):
        if saved:
            messages.success(request, "Check-in saved.")
        else:
            messages.error(
                request,
                "The check-in was not saved: "
                + "; ".join(f"{e}" for errs in form.errors.values() for e in errs),
            )
        return redirect(
            safe_next(request) or reverse("objective", args=[key_result.objective_id])
        )
    # Read again through the access helper: the action refreshed the row, and the
    # fragment must show the tracked KPI only if this member may see it.
    key_result = get_key_result_for_member(membership, pk)
    period = key_result.objective.period
    view = evaluate_key_result(
        key_result, period, membership.organization, timezone.now()
    )
    context: dict[str, Any] = {
        "k": view,
        "can_write": True,
        "form": CheckInForm(key_result=key_result) if saved else form,
        "just_saved": saved,
        "open_form": not saved,
    }
    if saved:
        # The rest of the page follows, out of band: the objective's numbers, chart,
        # history and activity, and the menu's My focus count.
        objective = get_objective_for_member(membership, key_result.objective_id)
        context["page"] = objective_numbers(membership, objective)
        context["focus_count"] = focus_count(membership)
    return render(request, "okrs/checkin_response.html", context)


@require_GET
@member_required
def objective_as_of(request: HttpRequest, pk: int) -> HttpResponse:
    """The objective, its key results and progress as they stood on a past date."""
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    today = timezone.localdate()
    default = min(today, objective.period.end)
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = default
    error = ""
    if not bounds.date_in_range(day):
        day, error = default, bounds.DATE_MESSAGE
    elif day > today:
        error = "Choose a date in the past: the future has no history yet."
    day = min(day, today)
    moment = timezone.make_aware(datetime.combine(day, time.max))
    state = tree_as_of(objective, moment)
    return render(
        request,
        "okrs/objective_as_of.html",
        {
            "objective": objective,
            "day": day,
            "state": state,
            "error": error,
            "today": today,
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def initiative_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk, write=True)
    form = InitiativeForm(request.POST or None, membership=membership)
    if (
        request.method == "POST"
        and form.is_valid()
        and (
            run_action(
                form,
                actions.create_initiative,
                key_result=key_result,
                **form.cleaned_data,
            )
            is not None
        )
    ):
        messages.success(request, "Initiative added.")
        return redirect("objective", pk=key_result.objective_id)
    return render(
        request,
        "okrs/form.html",
        {
            "form": form,
            "title": f"New initiative for “{key_result.title}”",
            "back": key_result.objective,
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def initiative_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    initiative = get_initiative_for_member(membership, pk, write=True)
    objective = initiative.key_result.objective
    form = InitiativeForm(
        request.POST or None, instance=initiative, membership=membership
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and (
            run_update(form, actions.update_initiative, initiative=initiative)
            is not None
        )
    ):
        messages.success(request, "Initiative saved.")
        return redirect("objective", pk=objective.pk)
    return render(
        request,
        "okrs/form.html",
        {"form": form, "title": f"Edit “{initiative.title}”", "back": objective},
    )


@require_POST
@member_required
def kudos_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    require_write(membership)
    form = KudosForm(request.POST, membership=membership, objective=objective)
    if form.is_valid():
        kudos = run_action(
            form,
            actions.give_kudos,
            sender=membership.user,
            org=membership.organization,
            objective=objective,
            **form.cleaned_data,
        )
        if kudos is not None:
            messages.success(request, f"Kudos sent to {kudos.recipient.display_name}.")
            return redirect("objective", pk=objective.pk)
    context = objective_context(membership, objective)
    context["kudos_form"] = form
    return render(request, "okrs/objective.html", context, status=400)


@require_GET
@member_required
def period_list(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    return render(
        request,
        "okrs/periods.html",
        {"periods": periods_for_member(membership).select_related("parent")},
    )


@require_http_methods(["GET", "POST"])
@member_required
def period_create(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    form = PeriodForm(request.POST or None, membership=membership)
    if (
        request.method == "POST"
        and form.is_valid()
        and (
            run_action(
                form,
                actions.create_period,
                org=membership.organization,
                **form.cleaned_data,
            )
            is not None
        )
    ):
        messages.success(request, "Period created.")
        return redirect("periods")
    return render(request, "okrs/form.html", {"form": form, "title": "New period"})


@require_http_methods(["GET", "POST"])
@member_required
def period_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    period = get_period_for_member(membership, pk, write=True)
    form = PeriodForm(request.POST or None, instance=period, membership=membership)
    if (
        request.method == "POST"
        and form.is_valid()
        and run_update(form, actions.update_period, period=period) is not None
    ):
        messages.success(request, "Period saved.")
        return redirect("periods")
    return render(
        request, "okrs/form.html", {"form": form, "title": f"Edit {period.name}"}
    )


@require_http_methods(["GET", "POST"])
@member_required
def period_import_checkins(request: HttpRequest, pk: int) -> HttpResponse:
    """Admins import check-in history into a period's key results: every line is
    checked, and a file with any problem imports nothing (docs/okrs.md)."""
    membership = membership_of(request)
    period = get_period_for_member(membership, pk, write=True)
    form = CheckInImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        rows, errors = read_history(membership, period, form.cleaned_data["file"])
        if not errors:
            try:
                count = actions.import_checkins(rows=rows, author=membership.user)
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(
                    request, f"Imported {count:,} check-in{'s' if count != 1 else ''}."
                )
                return redirect(f"{reverse('tree')}?period={period.pk}")
    return render(
        request,
        "okrs/checkin_import.html",
        {
            "period": period,
            "form": form,
            "errors": errors,
            "max_rows": f"{MAX_IMPORT_ROWS:,}",
            "tz_name": timezone.get_current_timezone_name(),
        },
    )


def read_history(
    membership: Membership, period: Period, text: str
) -> tuple[list[actions.CheckInRow], list[str]]:
    """The check-ins a file holds for the period's key results, and its problems."""
    if period.is_closed:
        return [], [f"{period.name} is closed; reopen it to import check-ins."]
    key_results = key_results_for_member(membership).filter(objective__period=period)
    return read_checkins(
        text,
        period=period,
        key_results=list(key_results.select_related("objective__period")),
        default_tz=timezone.get_current_timezone(),
        now=timezone.now(),
    )


GradeFormSet = formset_factory(GradeForm, extra=0)


@require_http_methods(["GET", "POST"])
@member_required
def period_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Grade every objective of the period and close it; a closed period shows its review."""
    membership = membership_of(request)
    period = get_period_for_member(membership, pk)
    # Admins (the only ones who grade) see every objective; anyone else reviews
    # the ones they may see.
    objectives = list(
        objectives_for_member(membership)
        .in_period(period)
        .select_related("owner", "team", "period")
        .prefetch_related(
            Prefetch(
                "key_results", queryset=KeyResult.objects.order_by("position", "pk")
            )
        )
        .order_by("level", "pk")
    )
    if period.is_closed or (request.method == "GET" and not membership.is_admin):
        return render(
            request,
            "okrs/period_review.html",
            {"period": period, "objectives": objectives},
        )
    require_admin(membership)
    require_open(period)
    views = evaluate(objectives, membership.organization)
    # A reopened period offers its retrospective notes again.
    initial = [
        {"objective": o.pk, "retrospective": o.retrospective} for o in objectives
    ]
    formset = GradeFormSet(request.POST or None, initial=initial, prefix="grade")
    form = ClosePeriodForm(
        request.POST or None,
        period=period,
        initial={"retrospective": period.retrospective},
    )
    forms_by_objective = {
        o.pk: f for o, f in zip(objectives, formset.forms, strict=False)
    }
    if request.method == "POST" and formset.is_valid() and form.is_valid():
        # Rows name their objective: grades never land on the wrong one, and a
        # period whose objectives changed while the page was open is not closed.
        # (An extra, empty row posted beyond them names none: refused the same way.)
        posted: dict[int, GradeForm] = {
            f.cleaned_data.get("objective", 0): f for f in formset.forms
        }
        if set(posted) != {o.pk for o in objectives}:
            form.add_error(
                None,
                "The objectives of this period changed while you were grading. "
                "Review the updated list below and close again.",
            )
            formset = GradeFormSet(initial=initial, prefix="grade")
            forms_by_objective = {
                o.pk: f for o, f in zip(objectives, formset.forms, strict=True)
            }
        else:
            forms_by_objective = posted
            grades = [
                actions.Grade(
                    objective=o,
                    **{
                        k: v
                        for k, v in posted[o.pk].cleaned_data.items()
                        if k != "objective"
                    },
                )
                for o in objectives
            ]
            closed = run_action(
                form,
                actions.close_period,
                period=period,
                grades=grades,
                retrospective=form.cleaned_data["retrospective"],
                carry_into=form.cleaned_data["carry_into"],
                author=membership.user,
            )
            if closed is not None:
                messages.success(request, f"{period.name} is closed and graded.")
                return redirect("period_close", pk=period.pk)
    rows: list[dict[str, Any]] = []
    for objective in objectives:
        view = views[objective.pk]
        krs = [(k, scoring.round_score(k.progress)) for k in view.key_results]
        score = scoring.objective_score([(s, k.kr.weight) for k, s in krs])
        rows.append(
            {
                "objective": objective,
                "form": forms_by_objective.get(objective.pk),
                "krs": krs,
                "score": score,
                "band": scoring.band(score) if score is not None else None,
            }
        )
    scores = [r["score"] for r in rows if r["score"] is not None]
    return render(
        request,
        "okrs/period_close.html",
        {
            "period": period,
            "rows": rows,
            "formset": formset,
            "form": form,
            "summary": {
                "objectives": len(rows),
                "average": (sum(scores) / len(scores)).quantize(Decimal("0.01"))
                if scores
                else None,
                "ungraded": [r["objective"] for r in rows if r["score"] is None],
            },
            "errors": close_errors(form, rows),
            "days_early": form.days_early,
        },
    )


def close_errors(form: ClosePeriodForm, rows: list[dict[str, Any]]) -> list[Any]:
    """Every error of the close page, for the list at its top: (where, message,
    the field's id to link to, or "")."""
    errors: list[tuple[str, str, str]] = [
        ("", str(e), "") for e in form.non_field_errors()
    ]
    for row in rows:
        grade = row["form"]
        if grade is None or not grade.is_bound:
            continue
        title = row["objective"].title
        errors += [
            (title, str(e), f"grade-{row['objective'].pk}")
            for e in grade.non_field_errors()
        ]
        for field in grade.visible_fields():
            errors += [
                (f"{title} · {field.label}", str(e), field.id_for_label)
                for e in field.errors
            ]
    for field in form.visible_fields():
        errors += [(str(field.label), str(e), field.id_for_label) for e in field.errors]
    return errors


@require_POST
@member_required
def period_set_state(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a planned period, or reopen a closed one (admins only)."""
    membership = membership_of(request)
    period = get_period_for_member(membership, pk, write=True)
    state = request.POST.get("state", "")
    try:
        actions.set_period_state(period=period, state=state)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("periods")
    messages.success(
        request, f"{period.name} is now {Period.State(state).label.lower()}."
    )
    return redirect("periods")


@require_GET
@member_required
def getting_started(request: HttpRequest) -> HttpResponse:
    """KPIs and OKRs in plain words, with the checklist for admins (onboarding.py)."""
    membership = membership_of(request)
    return render(
        request,
        "okrs/getting_started_page.html",
        {
            "checklist": onboarding.checklist(membership.organization)
            if membership.is_admin
            else None
        },
    )


@require_POST
@member_required
def getting_started_dismiss(request: HttpRequest) -> HttpResponse:
    """Hide the checklist from My focus for every admin (or, with `show`, bring it
    back)."""
    membership = membership_of(request)
    require_admin(membership)
    if request.POST.get("show"):
        onboarding.restore(org=membership.organization)
        messages.success(request, "The getting-started checklist is back on My focus.")
        return redirect("focus")
    onboarding.dismiss(org=membership.organization)
    messages.success(
        request,
        "Checklist hidden. It stays on the Getting started page, in the Settings menu.",
    )
    return redirect("focus")
