"""Load objectives of a period with their key results and compute what pages show.

A fixed number of queries whatever the size of the workspace: one light "skeleton"
query over the period's visible objectives (ids, alignment, team, owner), the team
subtree when filtering, then the objectives actually shown with their key results.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, F, When
from django.utils import timezone

from landmark.kpis.access import kpis_for_member
from landmark.lib import numbers
from landmark.okrs import scoring
from landmark.okrs.access import objectives_for_member
from landmark.okrs.models import (
    CheckIn,
    KeyResult,
    Objective,
    ObjectiveQuerySet,
    Period,
)
from landmark.orgs.access import visible_q
from landmark.orgs.models import Membership, Organization, Team


@dataclass
class KRView:
    kr: KeyResult
    progress_raw: float | None
    progress: float
    tau: float  # the expected progress by now: the share of its window elapsed
    pace: scoring.Pace
    expected: Decimal | None
    tracked_from: datetime | None = None  # set when later than the period's start
    locale: str = numbers.DEFAULT_LOCALE  # the organization's: how numbers read

    @property
    def percent_raw(self) -> int | None:
        return None if self.progress_raw is None else round(self.progress_raw * 100)

    @property
    def target_label(self) -> str:
        return self.kr.target_label(self.locale)

    @property
    def current_label(self) -> str:
        return self.kr.current_label(self.locale)

    @property
    def expected_label(self) -> str:
        return numbers.amount(self.expected, self.kr.unit, self.locale)

    @property
    def progress_label(self) -> str:
        """62%, "25% below start", or Done / Not done for a milestone."""
        if self.kr.kind == KeyResult.Kind.MILESTONE:
            return numbers.milestone(self.kr.done)
        return numbers.progress(self.progress_raw, self.locale)

    @property
    def bar_percent(self) -> int:
        return round(self.progress * 100)

    @property
    def expected_percent(self) -> int:
        return round(self.tau * 100)


@dataclass
class ObjectiveView:
    objective: Objective
    key_results: list[KRView]
    progress: float | None
    pace: scoring.Pace | None
    tau: float  # share of the period elapsed
    expected: float  # expected progress by now (scoring.objective_expected)
    children: list["ObjectiveView"] = field(default_factory=list)
    aligned_to: tuple[int, str] | None = None  # parent shown elsewhere: (pk, title)
    # Progress from included aligned objectives alone (no key results of its own).
    from_children: int = 0

    @property
    def percent(self) -> int | None:
        return None if self.progress is None else round(self.progress * 100)

    @property
    def expected_percent(self) -> int:
        return round(self.expected * 100)

    @property
    def period_percent(self) -> int:
        return round(self.tau * 100)

    @property
    def late_starts(self) -> int:
        """Key results tracked from later than the period's start."""
        return sum(1 for k in self.key_results if k.tracked_from is not None)

    @property
    def owner_status(self) -> scoring.Pace | None:
        """What the owners report: the weakest status of the key results' last
        check-ins (as the computed status is the weakest pace); None before any."""
        return scoring.weakest(
            scoring.Pace(k.kr.last_status) for k in self.key_results if k.kr.last_status
        )

    @property
    def owner_confidence(self) -> int | None:
        """The lowest confidence given in the key results' last check-ins."""
        given = [
            k.kr.last_confidence
            for k in self.key_results
            if k.kr.last_confidence is not None
        ]
        return min(given) if given else None


def evaluate_key_result(
    kr: KeyResult, period: Period, org: Organization, now: datetime
) -> KRView:
    tracked_from = kr.tracked_from(period)
    return KRView(
        kr=kr,
        progress_raw=kr.progress_raw(),
        progress=kr.progress(),
        tau=kr.time_share(period, now),
        pace=kr.pace(period, org, now),
        expected=kr.expected_value(period, now),
        tracked_from=tracked_from if tracked_from > period.starts_at else None,
        locale=org.locale,
    )


def objective_view(
    objective: Objective,
    krs: list[KRView],
    now: datetime,
    children: Iterable["ObjectiveView"] = (),
) -> ObjectiveView:
    """An objective's numbers from its key results' (and, when it includes them, its
    aligned children's): progress, expected progress and status are each the same
    roll-up (docs/okrs.md, "How progress is computed")."""
    # Aligned objectives without progress (no key results) count for nothing.
    counted = [(c, c.progress) for c in children if c.progress is not None]
    period_share = objective.period.time_share(now)
    expected = scoring.objective_expected(
        [(k.tau, k.kr.weight) for k in krs], [c.expected for c, _ in counted]
    )
    return ObjectiveView(
        objective=objective,
        key_results=krs,
        progress=scoring.objective_progress(
            [(k.progress, k.kr.weight) for k in krs], [p for _, p in counted]
        ),
        pace=scoring.weakest(
            [k.pace for k in krs] + [c.pace for c, _ in counted if c.pace is not None]
        ),
        tau=period_share,
        expected=period_share if expected is None else expected,
        from_children=0 if krs else len(counted),
    )


def evaluate(
    objectives: Iterable[Objective], org: Organization, now: datetime | None = None
) -> dict[int, ObjectiveView]:
    """Progress and pace of each objective; those that include children use the
    children's progress too (children must be among `objectives`)."""
    now = now or timezone.now()
    by_pk = {o.pk: o for o in objectives}
    children: dict[int, list[int]] = defaultdict(list)
    for o in by_pk.values():
        if o.parent_id in by_pk:
            children[o.parent_id].append(o.pk)
    views: dict[int, ObjectiveView] = {}

    def visit(pk: int, path: frozenset[int]) -> ObjectiveView:
        if pk in views:
            return views[pk]
        o = by_pk[pk]
        krs = [
            evaluate_key_result(kr, o.period, org, now) for kr in o.key_results.all()
        ]
        included = (
            [visit(c, path | {pk}) for c in children[pk] if c not in path]
            if o.include_children
            else []
        )
        views[pk] = objective_view(o, krs, now, included)
        return views[pk]

    for pk in by_pk:
        visit(pk, frozenset())
    return views


def evaluate_objectives(
    membership: Membership,
    objectives: Sequence[Objective],
    now: datetime | None = None,
) -> dict[int, ObjectiveView]:
    """Progress and pace of these objectives (any periods; each with its `period`
    and `key_results` loaded) as their own pages show them: an objective that
    counts its children counts its aligned objectives of the same period that the
    member may see, at every level, as load_tree does. Two more queries when some
    objective counts children, whatever their number."""
    now = now or timezone.now()
    loaded = {o.pk: o for o in objectives}
    counting = [o for o in objectives if o.include_children]
    if counting:
        graph = (
            objectives_for_member(membership)
            .filter(period_id__in={o.period_id for o in counting})
            .values_list("pk", "parent_id", "period_id")
        )
        kids: dict[int | None, list[int]] = defaultdict(list)
        period_of: dict[int, int] = {}
        for pk, parent_id, period_id in graph:
            kids[parent_id].append(pk)
            period_of[pk] = period_id
        needed: set[int] = set()
        for o in counting:
            stack = [o.pk]
            while stack:
                for child in kids[stack.pop()]:
                    # An alignment across periods is not counted (load_tree reads
                    # one period's objectives).
                    if child not in needed and period_of[child] == o.period_id:
                        needed.add(child)
                        stack.append(child)
        if missing := needed - set(loaded):
            for o in (
                objectives_for_member(membership)
                .filter(pk__in=missing)
                .select_related("period")
                .prefetch_related("key_results")
            ):
                loaded[o.pk] = o
    by_period: dict[int, list[Objective]] = defaultdict(list)
    for o in loaded.values():
        by_period[o.period_id].append(o)
    views: dict[int, ObjectiveView] = {}
    for same_period in by_period.values():
        views.update(evaluate(same_period, membership.organization, now))
    return {o.pk: views[o.pk] for o in objectives}


@dataclass
class PeriodTree:
    roots: list[ObjectiveView]
    shown: list[ObjectiveView]  # every objective on the page, in tree order
    progress: float | None  # mean over shown objectives
    owner_ids: set[int]  # owners of the period's objectives within the team filter


SkeletonRow = tuple[int | None, bool, int | None, int, str | None]


def skeleton_of(
    objectives: ObjectiveQuerySet, membership: Membership
) -> dict[int, SkeletonRow]:
    """pk → (parent id, include children, team id, owner id, parent title).

    The parent's title comes only when the member may see the parent (the rule of
    orgs.access.visible_q, through the relation): a hidden parent shows nowhere, not
    even as "aligned to" something.
    """
    rows = objectives.annotate(
        shown_parent_title=Case(
            When(visible_q(membership, "parent__"), then=F("parent__title")),
            default=None,
            output_field=CharField(),
        )
    ).values_list(
        "pk",
        "parent_id",
        "include_children",
        "team_id",
        "owner_id",
        "shown_parent_title",
    )
    return {
        pk: (parent_id, include_children, team_id, owner, title)
        for pk, parent_id, include_children, team_id, owner, title in rows
    }


def load_tree(
    membership: Membership,
    period: Period,
    *,
    team: Team | None = None,
    owner_id: int | None = None,
    status: str = "",
    subtree_of: Objective | None = None,
    now: datetime | None = None,
) -> PeriodTree:
    base = objectives_for_member(membership).in_period(period)
    scoped = base
    if team is not None:
        team_ids = list(
            team.descendants(include_self=True).values_list("pk", flat=True)
        )
        scoped = scoped.filter(team_id__in=team_ids)
    # The light rows of the objectives in scope; the parent's title comes along for
    # the "aligned to" line of objectives whose parent is outside the page.
    skeleton = skeleton_of(scoped, membership)
    # Walking down alignments (an objective's own subtree, or objectives that count
    # their children) needs the whole period's graph; a team page without such
    # objectives never loads it.
    needs_graph = subtree_of is not None or any(row[1] for row in skeleton.values())
    graph = (
        skeleton_of(base, membership) if needs_graph and team is not None else skeleton
    )
    kids: dict[int | None, list[int]] = defaultdict(list)
    for pk, row in graph.items():
        kids[row[0]].append(pk)

    def descendants(pk: int) -> set[int]:
        found, stack = set(), [pk]
        while stack:
            for child in kids[stack.pop()]:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    matched = set(skeleton)
    if subtree_of is not None:
        matched = ({subtree_of.pk} | descendants(subtree_of.pk)) & matched
    owner_ids = {skeleton[pk][3] for pk in matched}
    if owner_id is not None:
        matched = {pk for pk in matched if skeleton[pk][3] == owner_id}
    needed = set(matched)
    for pk in matched:
        if skeleton[pk][1]:
            needed |= descendants(pk)
    objectives = (
        list(
            base.filter(pk__in=needed).with_tree_data(kpis=kpis_for_member(membership))
        )
        if needed
        else []
    )
    views = evaluate(objectives, membership.organization, now)
    if status:
        matched = {pk for pk in matched if views[pk].pace == status}

    roots: list[ObjectiveView] = []
    for pk in sorted(matched, key=lambda p: (views[p].objective.position, p)):
        view = views[pk]
        parent_id = skeleton[pk][0]
        if parent_id in matched:
            continue
        parent_title = skeleton[pk][4]
        if parent_id is not None and parent_title is not None:
            view.aligned_to = (parent_id, parent_title)
        roots.append(view)
    shown: list[ObjectiveView] = []

    def attach(view: ObjectiveView) -> None:
        shown.append(view)
        view.children = [
            views[c] for c in sorted(kids[view.objective.pk]) if c in matched
        ]
        for child in view.children:
            attach(child)

    level_order: dict[str, int] = {
        Objective.Level.COMPANY: 0,
        Objective.Level.TEAM: 1,
        Objective.Level.PERSONAL: 2,
    }
    roots.sort(
        key=lambda v: (
            level_order.get(v.objective.level, 3),
            v.objective.position,
            v.objective.pk,
        )
    )
    for root in roots:
        attach(root)
    return PeriodTree(
        roots=roots,
        shown=shown,
        progress=scoring.mean(v.progress for v in shown),
        owner_ids=owner_ids,
    )


def progress_history(
    view: ObjectiveView, checkins: Iterable[CheckIn]
) -> list[tuple[datetime, float]]:
    """Replay check-ins in time order: the objective's progress after each one.

    Starts with every key result at its starting point when the first of them began
    to be tracked (or at its first check-in, if earlier), like the expected line.
    """
    krs = {k.kr.pk: k.kr for k in view.key_results}
    state: dict[int, float] = {
        pk: scoring.clamp(kr.progress_at(None, False) or 0.0) for pk, kr in krs.items()
    }
    weights = {pk: kr.weight for pk, kr in krs.items()}
    history: list[tuple[datetime, float]] = []
    if not krs:
        return history
    replayed = sorted(
        (c for c in checkins if c.key_result_id in krs),
        key=lambda c: (c.created_at, c.pk),
    )
    period = view.objective.period
    began = min(kr.tracked_from(period) for kr in krs.values())
    if replayed:
        began = min(began, replayed[0].created_at)
    history.append((began, _mean(state, weights)))
    for checkin in replayed:
        kr = krs[checkin.key_result_id]
        state[kr.pk] = scoring.clamp(kr.progress_at(checkin.value, checkin.done) or 0.0)
        history.append((checkin.created_at, _mean(state, weights)))
    return history


def expected_line(view: ObjectiveView) -> list[tuple[datetime, float]]:
    """The objective's expected progress over its period, for the chart: the same
    weighted mean as its expected progress now, at every moment a key result starts
    or stops being expected to move (a straight line when they all run with the
    period)."""
    period = view.objective.period
    windows = [(k.kr.window(period), k.kr.weight) for k in view.key_results]
    moments = sorted(
        {period.starts_at, period.ends_at}
        | {
            t
            for (start, end), _ in windows
            for t in (start, end)
            if period.starts_at <= t <= period.ends_at
        }
    )
    line = []
    for t in moments:
        share = scoring.objective_expected(
            [(scoring.time_share(t, start, end), w) for (start, end), w in windows]
        )
        line.append((t, 0.0 if share is None else share))
    return line


def _mean(state: dict[int, float], weights: dict[int, Decimal]) -> float:
    return scoring.weighted_mean((state[pk], weights[pk]) for pk in state) or 0.0


@dataclass
class AsOf:
    """An objective and its key results as they stood at a moment."""

    objective: Objective | None  # None: it did not exist yet
    view: ObjectiveView | None


def objective_as_of(objective: Objective, moment: datetime) -> AsOf:
    """Rebuild the objective from its history: definitions from the historical
    versions, values from the check-ins made by then, progress at that moment."""
    version = (
        Objective.history.filter(id=objective.pk, history_date__lte=moment)
        .order_by("-history_date", "-history_id")
        .first()
    )
    if version is None or version.history_type == "-":
        return AsOf(objective=None, view=None)
    then = version.instance
    then.period = objective.period
    latest: dict[int, Any] = {}
    for kr_version in KeyResult.history.filter(
        objective_id=objective.pk, history_date__lte=moment
    ).order_by("history_date", "history_id"):
        latest[kr_version.id] = kr_version
    krs = [v.instance for v in latest.values() if v.history_type != "-"]
    krs.sort(key=lambda k: (k.position, k.pk))
    by_pk = {kr.pk: kr for kr in krs}
    for kr in krs:
        kr.current, kr.done, kr.last_checkin_at = None, False, None
        kr.last_status, kr.last_confidence = "", None
        kr.checkins_count = kr.checkins_held = 0
    for c in CheckIn.objects.filter(
        organization_id=objective.organization_id,
        key_result_id__in=list(by_pk),
        created_at__lte=moment,
    ).order_by("created_at", "pk"):
        kr = by_pk[c.key_result_id]
        kr.current, kr.done, kr.last_checkin_at = c.value, bool(c.done), c.created_at
        if not c.from_kpi:  # a KPI's value does not speak for the owner
            kr.last_status, kr.last_confidence = c.status, c.confidence
        kr.checkins_count += 1
        if kr.kind == KeyResult.Kind.THRESHOLD and c.value is not None:
            kr.checkins_held += scoring.threshold_holds(
                kr.threshold_op, c.value, kr.threshold_low, kr.threshold_high
            )
    org = objective.organization
    views = [evaluate_key_result(kr, objective.period, org, moment) for kr in krs]
    return AsOf(objective=then, view=objective_view(then, views, moment))
