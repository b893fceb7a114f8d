"""Every write and query where KPIs and OKRs meet (docs/kpis.md, "KPIs and OKRs
together"): key results tracking a KPI follow its values, Fix with an OKR, Keep as a
KPI, and the OKRs working on a KPI (which "Raise the bar" asks about).

kpis knows nothing of OKRs: it announces new values (kpis.signals.values_changed,
connected in apps.py) and this module, above both, does the rest.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from landmark.kpis import health
from landmark.kpis.actions import (
    KPIUpdate,
    ParsedRow,
    create_kpi,
    current_value,
    import_data_points,
)
from landmark.kpis.models import KPI, DataPoint, KPIQuerySet
from landmark.lib import numbers
from landmark.okrs.access import objectives_for_member
from landmark.okrs.actions import (
    create_key_result,
    create_objective,
    kpi_key_result_title,
    sync_tracking_key_results,
)
from landmark.okrs.models import (
    KeyResult,
    Objective,
    ObjectiveKPI,
    ObjectiveQuerySet,
    Period,
)
from landmark.orgs.models import Membership, User


def follow_kpis(
    sender: Any, *, kpis: Sequence[KPI], author: User | None, **kwargs: Any
) -> None:
    """On kpis.signals.values_changed: key results tracking one of these KPIs follow
    its value. One query finds which of them any key result tracks (the filter of
    okrs.actions.sync_tracking_key_results), then only those KPIs are synced."""
    by_pk = {kpi.pk: kpi for kpi in kpis}
    tracked = (
        KeyResult.objects.filter(
            organization_id__in=sorted({kpi.organization_id for kpi in kpis}),
            kpi_id__in=list(by_pk),
            objective__period__state=Period.State.ACTIVE,
        )
        .exclude(objective__state=Objective.State.CLOSED)
        .exclude(kind=KeyResult.Kind.MILESTONE)
        .order_by()
        .values_list("kpi_id", flat=True)
        .distinct()
    )
    for kpi_id in sorted(set(tracked)):
        if kpi_id is None:  # (the filter above names KPIs; never true)
            continue
        sync_tracking_key_results(kpi=by_pk[kpi_id], author=author)


def okrs_working_on(kpi: KPI) -> ObjectiveQuerySet:
    """Objectives of open periods that work on this KPI or have a KR tracking it."""
    return (
        Objective.objects.filter(
            Q(kpi_links__kpi=kpi) | Q(key_results__kpi=kpi),
            organization_id=kpi.organization_id,
        )
        .exclude(period__state=Period.State.CLOSED)
        .exclude(state=Objective.State.CLOSED)
        .distinct()
    )


def kpis_with_okrs(
    membership: Membership, kpi_ids: Sequence[int] | QuerySet[Any, Any]
) -> set[int]:
    """Which of these KPIs (ids, or a query of them: a thousand ids written into the
    SQL cost more than the query) an objective of an open period works on (one
    query)."""
    if isinstance(kpi_ids, Sequence) and not kpi_ids:
        return set()
    working = _working_objectives(membership).values("pk")
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


def _working_objectives(membership: Membership) -> ObjectiveQuerySet:
    """The objectives that count as an OKR working on a KPI: those this member may
    see, of a period not closed, not closed themselves."""
    return (
        objectives_for_member(membership)
        .exclude(period__state=Period.State.CLOSED)
        .exclude(state=Objective.State.CLOSED)
    )


def kpis_without_okrs(membership: Membership, kpis: KPIQuerySet) -> KPIQuerySet:
    """These KPIs less those an objective of an open period works on (as
    kpis_with_okrs says), in the same query: the coach counts them in SQL."""
    # Asked KPI by KPI through the indexes on kpi_id and the objective's primary key
    # (a KPI's key results and links are few): NOT IN the open objectives' ids made
    # SQLite list every open objective of the organization first. The objective is
    # the member's (objectives_for_member): no other organization's row counts.
    working = _working_objectives(membership)
    open_objective = Exists(working.filter(pk=OuterRef("objective_id")))
    linked = ObjectiveKPI.objects.filter(kpi_id=OuterRef("pk")).filter(open_objective)
    tracked = KeyResult.objects.filter(kpi_id=OuterRef("pk")).filter(open_objective)
    return kpis.exclude(Exists(linked)).exclude(Exists(tracked))


def raised_without_okr(update: KPIUpdate) -> bool:
    """Raise the bar: the update made the KPI's target more ambitious and no objective
    of an open period works on the KPI (whoever may see it)."""
    return update.raised and not okrs_working_on(update.kpi).exists()


@transaction.atomic
def fix_with_okr(*, kpi: KPI, period: Period, owner: User) -> Objective:
    """From an unhealthy KPI, draft an objective with a KR "bring KPI from current to
    target", both linked to the KPI (docs/kpis.md, "Where KPIs and OKRs meet")."""
    if period.state == Period.State.CLOSED:
        raise ValidationError({"period": "Choose a period that is not closed."})
    # The KR aims for the target of the window the period ends in: with a ramping
    # schedule, that is where the KPI must be by then, not its base target.
    end_window = health.window_start(kpi.frequency, period.end)
    schedule = {t.window_start: t for t in kpi.targets.filter(window_start=end_window)}
    target = kpi.target_for(end_window, schedule)
    if not target.is_set:
        raise ValidationError(
            "Give the KPI a target first: the key result aims for it."
        )
    locale = kpi.organization.locale
    current = current_value(kpi)
    if current is None:
        raise ValidationError(
            "Enter a value for the KPI first: the key result starts from it."
        )
    if target.holds(current):
        raise ValidationError("The KPI is already at its target.")
    if not target.has_low or (
        target.has_high and target.high is not None and current > target.high
    ):
        goal = target.high
    else:
        goal = target.low
    if goal is None:
        raise ValidationError("The KPI's target has no bound to aim at.")
    if goal == current:
        # Only a strict target misses at its own bound ("above 95 %" at 95 %).
        raise ValidationError(
            f"The KPI is right at its target's bound ({target.words(kpi.unit, locale)}): a key "
            "result from that value to the same value would have nothing to measure."
        )
    objective = create_objective(
        org=kpi.organization,
        period=period,
        owner=owner,
        title=f"Bring {kpi.name} back to healthy",
        description=f"Drafted from the KPI “{kpi.name}”, currently "
        f"{numbers.amount(current, kpi.unit, locale)} against a target of "
        f"{target.label(kpi.unit, locale)}. Find out what caused it and add key results.",
        level=Objective.Level.TEAM if kpi.team_id else Objective.Level.COMPANY,
        team=kpi.team,
        type=Objective.Type.IMPROVE,
        state=Objective.State.DRAFT,
        # Its title names the KPI: a private KPI's draft is private too (seen by the
        # KPI's team, the admins and the drafter, who may see the KPI).
        visibility=Objective.Visibility.PRIVATE
        if kpi.visibility == KPI.Visibility.PRIVATE
        else Objective.Visibility.PUBLIC,
    )
    ObjectiveKPI.objects.create(
        organization_id=kpi.organization_id, objective=objective, kpi=kpi
    )
    # Tracking the KPI, the key result takes its current value at once.
    create_key_result(
        objective=objective,
        title=kpi_key_result_title(kpi, current, goal, locale),
        owner=kpi.owner or owner,
        unit=kpi.unit,
        start=current,
        target=goal,
        kpi=kpi,
    )
    return objective


@transaction.atomic
def keep_as_kpi(
    *, key_result: KeyResult, author: User, frequency: str = KPI.Frequency.WEEKLY
) -> KPI:
    """From a reached KR, create a KPI with the matching target and the KR's check-in
    history as its first data points; the KR then tracks the new KPI."""
    if key_result.kind == KeyResult.Kind.MILESTONE:
        raise ValidationError(
            "A milestone is done once; it cannot become a KPI to watch."
        )
    if key_result.progress() < 1:
        raise ValidationError(
            "Only a key result that has been reached can become a KPI."
        )
    kind: str
    if key_result.kind == KeyResult.Kind.METRIC:
        # A metric key result always has both (validate_key_result_fields).
        if key_result.start is None or key_result.target is None:
            raise ValueError(
                f"Metric key result {key_result.pk} lacks its start or target."
            )
        increasing = key_result.target > key_result.start
        kind = KPI.TargetKind.AT_LEAST if increasing else KPI.TargetKind.AT_MOST
        low = key_result.target if increasing else None
        high = None if increasing else key_result.target
    else:
        kind, low, high = (
            key_result.threshold_op,
            key_result.threshold_low,
            key_result.threshold_high,
        )
    objective = key_result.objective
    # A private objective's key result stays private as a KPI: same team, owned by
    # whoever keeps it (who may see the objective; the key result's owner may not),
    # and its definition names the objective only when the objective is public.
    private = objective.visibility == objective.Visibility.PRIVATE
    source = f"“{key_result.title}”" + ("" if private else f" of “{objective.title}”")
    kpi = create_kpi(
        org=objective.organization,
        name=key_result.title[:120],
        definition=f"Kept as a KPI from the key result {source}.",
        visibility=KPI.Visibility.PRIVATE if private else KPI.Visibility.PUBLIC,
        owner=author if private else key_result.owner or author,
        team=objective.team,
        unit=key_result.unit,
        frequency=frequency,
        target_kind=kind,
        target_low=low,
        target_high=high,
    )
    checkins = key_result.checkins.exclude(value__isnull=True).order_by(
        "created_at", "pk"
    )
    rows: dict[datetime, ParsedRow] = {}
    for n, c in enumerate(checkins, start=1):
        if c.value is None:  # (excluded above; never true)
            continue
        rows[c.created_at] = ParsedRow(
            line=n, time=c.created_at, value=c.value, note=c.moved[:500]
        )
    if rows:
        import_data_points(
            kpi=kpi,
            rows=list(rows.values()),
            author=author,
            source=DataPoint.Source.IMPORT,
        )
    key_result.kpi = kpi
    key_result.save(update_fields=["kpi"])
    return kpi
