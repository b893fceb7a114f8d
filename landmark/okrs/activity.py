"""Who changed what and when, from django-simple-history, as sentences.

"Sam moved *Close 132 deals* from 61 to 68 deals, on track", "Ana created objective
*Win the Midwest*", "Lee changed the target of KPI *Visitors* from 30000 to 45000".

A feed reads a fixed number of queries whatever its length or page: each source
(objectives' versions, key results' versions, check-ins, KPIs' versions, targets,
values, periods, memberships) reads at most `WINDOW` of its newest matching rows,
narrowed in SQL by the filters (person, team, kind, date range); diffs are computed
in Python from each object's versions fetched in one query per model. The merged
events are then paginated. Older events than a source's window are reached by
narrowing the filters (a date range), which the page says.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import models
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPI, DataPoint, KPITarget
from landmark.lib import numbers
from landmark.okrs.access import objectives_for_member
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period
from landmark.orgs.models import Membership, Organization, User

VERB = {"+": "created", "~": "changed", "-": "deleted"}

# Rows read from each source for one page of a feed, newest first (see the module's
# docstring): enough for a dozen pages of 25, constant however large the history.
WINDOW = 300
LONG = 60  # characters of a changed text shown in a sentence


# What a feed can be narrowed to (the `kind` filter's values and labels).
KINDS: dict[str, str] = {
    "objective": "Objectives",
    "key_result": "Key results",
    "checkin": "Check-ins",
    "kpi": "KPIs",
    "period": "Periods",
    "member": "Members",
    "settings": "Organization settings",
}
OBJECTIVE_KINDS = ("objective", "key_result", "checkin")


@dataclass
class Event:
    """One sentence of a feed: `actor verb kind *subject*detail`."""

    when: datetime
    who: User | None
    kind: str  # "objective", "key result", "KPI", ... ("" when the verb says it)
    subject: str
    verb: str
    detail: str = ""  # what follows the subject: " from 61 to 68 deals, on track"
    url: str = ""
    actor: str = ""  # who did it when no person did: "the system", "a connector"
    note: str = ""  # a check-in's own words, shown under the sentence
    history_id: int | None = None

    @property
    def who_name(self) -> str:
        if self.who is not None:
            return self.who.display_name
        return self.actor or "the system"

    @property
    def sentence(self) -> str:
        """The sentence as plain text (tests, emails)."""
        kind = f"{self.kind} " if self.kind else ""
        return f"{self.who_name} {self.verb} {kind}{self.subject}{self.detail}"


@dataclass
class Filters:
    """A feed's filters, already checked (ids of the organization's own rows)."""

    person: int | None = None
    team: int | None = None
    kind: str = ""
    since: date | None = None
    until: date | None = None
    objective: int | None = None  # one objective's feed

    def wants(self, kind: str) -> bool:
        return not self.kind or self.kind == kind


def model_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    return cast("models.Field[Any, Any]", model._meta.get_field(name))


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LONG else text[: LONG - 1] + "…"


def field_value(model: type[models.Model], name: str, value: Any, locale: str) -> str:
    field = model_field(model, name)
    if value is None or value == "":
        return "—"
    if getattr(field, "choices", None):
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]  # choices are pairs
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return numbers.number(value, locale)
    return shorten(str(value))


# A change of one of these relations is left out of a feed when either side is an
# objective or KPI the reader may not see (the value would name it).
Hidden = AbstractSet[tuple[str, int]]  # (field name, related id)


@dataclass
class Change:
    """One field's change between two versions, as stored (a relation as its id)."""

    model: type[models.Model]
    name: str
    before: Any
    after: Any


class RelatedNames:
    """The names of the objects that changed relations point to.

    Reading `version.owner` on each history row would cost one query per row; instead
    every id is collected first and each related model is read once (`in_bulk`).
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale  # the organization's: how numbers read
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.names: dict[type[models.Model], dict[Any, str]] = {}

    def want(self, change: Change) -> None:
        related = model_field(change.model, change.name).related_model
        if isinstance(related, type):
            self.wanted[related] |= {change.before, change.after} - {None}

    def load(self) -> None:
        for model, ids in self.wanted.items():
            self.names[model] = {
                pk: getattr(obj, "display_name", None) or str(obj)
                for pk, obj in model._default_manager.in_bulk(ids).items()
            }

    def words(self, change: Change) -> tuple[str, str, str]:
        """The field's name, its value before and after, in words."""
        field = model_field(change.model, change.name)
        label = str(field.verbose_name).replace("kpi", "KPI")
        related = field.related_model
        if not isinstance(related, type):
            before = field_value(change.model, change.name, change.before, self.locale)
            after = field_value(change.model, change.name, change.after, self.locale)
            return label, before, after
        names = self.names.get(related, {})
        gone = f"a deleted {related._meta.verbose_name}"
        before, after = (
            "—" if pk is None else names.get(pk, gone)
            for pk in (change.before, change.after)
        )
        return label, before, after


def changed_sentence(words: Sequence[tuple[str, str, str]]) -> tuple[str, str]:
    """(verb, detail) of a version's changes: "changed the target of" + " from 5
    to 6", or "changed" + ": the target from 5 to 6; the owner from Ana to Lee"."""

    def clause(before: str, after: str) -> str:
        if before == "—":
            return f"to {after}"
        if after == "—":
            return f"from {before} to nothing"
        return f"from {before} to {after}"

    if len(words) == 1:
        label, before, after = words[0]
        return f"changed the {label} of", f" {clause(before, after)}"
    parts = [f"the {label} {clause(before, after)}" for label, before, after in words]
    return "changed", ": " + "; ".join(parts)


def changes_between(
    model: type[models.Model],
    old: Any,
    new: Any,
    fields: Sequence[str],
    hidden: Hidden = frozenset(),
) -> list[Change]:
    out = []
    for name in fields:
        attname = model_field(model, name).attname
        before, after = getattr(old, attname, None), getattr(new, attname, None)
        if {(name, before), (name, after)} & hidden:
            continue
        if before != after:
            out.append(Change(model, name, before, after))
    return out


def tracked_fields(history_model: Any, model: type[models.Model]) -> list[str]:
    skip = {"id", "organization", "created_at"}
    names = {f.name for f in history_model._meta.fields}
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.name in names and f.name not in skip
    ]


def events_from(
    records: Iterable[Any],
    model: type[models.Model],
    kind: str,
    subject_field: str,
    related: RelatedNames,
    url: Any = None,
    hidden: Hidden = frozenset(),
) -> list[tuple[Event, list[Change]]]:
    """Turn history records (all versions of some objects) into events with diffs.

    The diffs stay as `Change`s, their relations noted in `related`: `describe`
    turns them into words once every feed's relations are loaded. A version that
    changed nothing a reader sees (a key result saved by a check-in) is no event."""
    by_object: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        by_object[record.id].append(record)
    fields: list[str] = []
    events: list[tuple[Event, list[Change]]] = []
    for versions in by_object.values():
        versions.sort(key=lambda v: (v.history_date, v.history_id))
        previous: Any = None
        for r in versions:
            if not fields:
                fields = tracked_fields(type(r), model)
            changes: list[Change] = []
            if previous is not None and r.history_type == "~":
                changes = changes_between(model, previous, r, fields, hidden)
            if r.history_type != "~" or changes:
                for change in changes:
                    related.want(change)
                event = Event(
                    when=r.history_date,
                    who=r.history_user,
                    kind=kind,
                    subject=str(getattr(r, subject_field)),
                    verb=VERB[r.history_type],
                    url=url(r) if url and r.history_type != "-" else "",
                    history_id=r.history_id,
                )
                events.append((event, changes))
            previous = r
    return events


def describe(
    pending: Iterable[tuple[Event, list[Change]]], related: RelatedNames
) -> list[Event]:
    """The events with their changes in words (one query per related model)."""
    related.load()
    events = []
    for event, changes in pending:
        if changes:
            event.verb, event.detail = changed_sentence(
                [related.words(c) for c in changes]
            )
        events.append(event)
    return events


def checkin_events(checkins: Iterable[CheckIn], locale: str) -> list[Event]:
    """Check-ins as "Sam moved *X* from 61 to 68 deals, on track" (`previous`: the
    value of the key result's check-in before, annotated by `with_previous`)."""
    events = []
    for c in checkins:
        kr = c.key_result
        url = reverse("objective", args=[kr.objective_id]) + f"#kr-{kr.pk}"
        status = f", {c.get_status_display().lower()}" if c.status else ""
        if c.done is not None:
            verb, detail = "marked", f" {'done' if c.done else 'not done'}{status}"
        else:
            before = getattr(c, "previous", None)
            if before is None:
                before = kr.start
            verb = "moved"
            detail = (
                f" from {numbers.from_to(before, c.value, kr.unit, locale)}{status}"
            )
        if c.from_kpi:  # Landmark's doing, not the author's word
            event = Event(
                when=c.created_at,
                who=None,
                actor="the system",
                kind="",
                subject=kr.title,
                verb="moved" if c.done is None else verb,
                detail=detail.replace(status, "") + " (it follows its KPI)",
                url=url,
            )
        else:
            if c.imported:  # the importer's doing at a past time
                verb = f"imported a check-in that {verb}"
            event = Event(
                when=c.created_at,
                who=c.author,
                kind="",
                subject=kr.title,
                verb=verb,
                detail=detail,
                url=url,
                note=shorten(c.moved) if c.moved else "",
            )
        events.append(event)
    return events


def hidden_relations(
    membership: Membership, records: Sequence[Any], kr_records: Sequence[Any]
) -> Hidden:
    """The alignments (parent, carried from) and tracked KPIs named in these
    versions that the member may not see."""
    objective_ids = {
        value
        for r in records
        for value in (r.parent_id, r.carried_from_id)
        if value is not None
    }
    kpi_ids = {r.kpi_id for r in kr_records if r.kpi_id is not None}
    shown_objectives = set(
        objectives_for_member(membership)
        .filter(pk__in=objective_ids)
        .values_list("pk", flat=True)
        if objective_ids
        else ()
    )
    shown_kpis = set(
        kpis_for_member(membership).filter(pk__in=kpi_ids).values_list("pk", flat=True)
        if kpi_ids
        else ()
    )
    return {
        *(
            (name, pk)
            for pk in objective_ids - shown_objectives
            for name in ("parent", "carried_from")
        ),
        *(("kpi", pk) for pk in kpi_ids - shown_kpis),
    }


# More events of an objective's activity from the apps above this one (comments:
# "Sam commented on …"): each takes the objective, the reader's membership and a limit.
OBJECTIVE_EVENT_SOURCES: list[Callable[[Objective, Membership, int], list[Event]]] = []


def day_bounds(filters: Filters) -> tuple[datetime | None, datetime | None]:
    """The date range as instants in the organization's time zone (the current one)."""
    zone = timezone.get_current_timezone()
    since = (
        datetime.combine(filters.since, time.min, tzinfo=zone)
        if filters.since
        else None
    )
    until = (
        datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=zone)
        if filters.until
        else None
    )
    return since, until


def narrowed(
    queryset: Any, filters: Filters, *, when: str, who: str, team: str | None
) -> Any:
    """`queryset` narrowed by the filters, on its own field names."""
    since, until = day_bounds(filters)
    if since is not None:
        queryset = queryset.filter(**{f"{when}__gte": since})
    if until is not None:
        queryset = queryset.filter(**{f"{when}__lt": until})
    if filters.person is not None:
        queryset = queryset.filter(**{who: filters.person})
    if filters.team is not None:
        if team is None:  # the source belongs to no team
            return queryset.none()
        queryset = queryset.filter(**{team: filters.team})
    return queryset


@dataclass
class Source:
    """A history model as a feed reads it."""

    model: type[models.Model]
    filter_kind: str
    kind: str
    subject: str
    team: str | None  # the history rows' path to a team, None: no team
    url: Any = None


def objective_url(r: Any) -> str:
    return reverse("objective", args=[r.id])


def key_result_url(r: Any) -> str:
    return reverse("objective", args=[r.objective_id]) + f"#kr-{r.id}"


def kpi_url(r: Any) -> str:
    return reverse("kpi", args=[r.id])


SOURCES = [
    Source(Objective, "objective", "objective", "title", "team_id", objective_url),
    Source(
        KeyResult,
        "key_result",
        "key result",
        "title",
        "team",  # replaced by a subquery (the objective's team)
        key_result_url,
    ),
    Source(KPI, "kpi", "KPI", "name", "team_id", kpi_url),
    Source(Period, "period", "period", "name", None),
    Source(Membership, "member", "membership", "user", None),
    Source(Organization, "settings", "organization settings", "name", None),
]


@dataclass
class Feed:
    events: list[Event]
    # A source had more rows than `window`: a wider window finds more.
    truncated: bool = False
    # Or the values, which always read `WINDOW` rows: only a date range finds more.
    beyond: bool = False


def history_events(
    source: Source,
    org: Organization,
    filters: Filters,
    related: RelatedNames,
    *,
    window: int,
) -> tuple[list[tuple[Event, list[Change]]], bool, list[Any]]:
    """The events of one history model's newest `window` matching versions, and
    whether it had more. Two queries: the versions, then every version of their
    objects (to diff each against the one before)."""
    history: Any = source.model.history  # type: ignore[attr-defined]  # HistoricalRecords
    # The organization's own row: its settings (Settings → Organization).
    own = "id" if source.model is Organization else "organization_id"
    rows = history.filter(**{own: org.pk})
    if filters.objective is not None:
        column = "id" if source.model is Objective else "objective_id"
        rows = rows.filter(**{column: filters.objective})
    team = source.team
    if source.model is KeyResult and filters.team is not None:
        rows = rows.filter(
            objective_id__in=Objective.objects.filter(
                organization_id=org.pk, team_id=filters.team
            ).values("pk")
        )
        team = None
        filters = Filters(**{**filters.__dict__, "team": None})
    rows = narrowed(
        rows, filters, when="history_date", who="history_user_id", team=team
    )
    window_rows = list(
        rows.order_by("-history_date", "-history_id").values_list("history_id", "id")[
            : window + 1
        ]
    )
    more = len(window_rows) > window
    window_rows = window_rows[:window]
    wanted = {history_id for history_id, _ in window_rows}
    if not wanted:
        return [], False, []
    records = list(
        history.filter(
            **{own: org.pk}, id__in={pk for _, pk in window_rows}
        ).select_related(
            "history_user", *(["user"] if source.model is Membership else [])
        )
    )
    pending = events_from(
        records, source.model, source.kind, source.subject, related, url=source.url
    )
    return [p for p in pending if p[0].history_id in wanted], more, records


def with_previous(checkins: Any) -> Any:
    """Check-ins annotated with the value of their key result's check-in before."""
    before = CheckIn.objects.filter(
        organization_id=OuterRef("organization_id"),
        key_result_id=OuterRef("key_result_id"),
        created_at__lt=OuterRef("created_at"),
    ).order_by("-created_at", "-pk")
    return checkins.annotate(previous=Subquery(before.values("value")[:1]))


def checkin_feed(
    org: Organization, filters: Filters, *, window: int
) -> tuple[list[Event], bool]:
    checkins = CheckIn.objects.filter(organization_id=org.pk)
    if filters.objective is not None:
        checkins = checkins.filter(key_result__objective_id=filters.objective)
    checkins = narrowed(
        checkins,
        filters,
        when="created_at",
        who="author_id",
        team="key_result__objective__team_id",
    )
    rows = list(
        with_previous(checkins)
        .select_related("author", "key_result")
        .order_by("-created_at", "-pk")[: window + 1]
    )
    return checkin_events(rows[:window], org.locale), len(rows) > window


def target_events(
    org: Organization, filters: Filters, *, window: int
) -> tuple[list[Event], bool]:
    """Per-window targets set or cleared (a schedule is replaced as a whole)."""
    records = list(
        narrowed(
            KPITarget.history.filter(organization_id=org.pk),
            filters,
            when="history_date",
            who="history_user_id",
            team="kpi__team_id",
        )
        .select_related("history_user", "kpi")
        .order_by("-history_date", "-history_id")[: window + 1]
    )
    events = []
    for r in records[:window]:
        unit = r.kpi.unit if r.kpi else ""
        bounds = " – ".join(
            numbers.amount(v, unit, org.locale)
            for v in (r.low, r.high)
            if v is not None
        )
        cleared = r.history_type == "-"
        events.append(
            Event(
                when=r.history_date,
                who=r.history_user,
                kind="KPI",
                subject=r.kpi.name if r.kpi else "a deleted KPI",
                verb="cleared the target of" if cleared else "set the target of",
                detail=f" for the window from {r.window_start:%Y-%m-%d}"
                + ("" if cleared else f" to {bounds or '—'}"),
                url=reverse("kpi", args=[r.kpi_id]) if r.kpi else "",
            )
        )
    return events, len(records) > window


SOURCE_ACTOR = {
    DataPoint.Source.CONNECTOR: "a connector",
    DataPoint.Source.API: "an API token",
    DataPoint.Source.IMPORT: "an import",
    DataPoint.Source.MANUAL: "the system",
}


def point_events(
    org: Organization, filters: Filters, *, window: int
) -> tuple[list[Event], bool]:
    """Values entered: a data point is never edited in place (a correction is a new
    version that keeps the old one), so its rows are its audit trail. Values entered
    together (an import, an API batch) read as one event."""
    points = list(
        narrowed(
            DataPoint.objects.filter(organization_id=org.pk),
            filters,
            when="created_at",
            who="author_id",
            team="kpi__team_id",
        )
        .order_by("-created_at", "-pk")
        .select_related("author", "kpi")
        .only(
            *("time", "value", "source", "created_at", "kpi__name", "kpi__unit"),
            *("author__full_name", "author__email"),
        )[: window + 1]
    )
    more = len(points) > window
    points = points[:window]
    replaced = {
        p.replaced_by_id: p
        for p in DataPoint.objects.filter(
            organization_id=org.pk,
            replaced_by__isnull=False,  # the index holds only these
            replaced_by__in=[p.pk for p in points],
        ).order_by()
    }
    events: list[Event] = []
    groups: list[list[Any]] = []  # each event's points, newest first
    keys: list[tuple[Any, ...]] = []  # what groups points into one event
    for p in points:
        old = replaced.get(p.pk)
        key = (p.kpi_id, p.author_id, p.source, old is not None)
        if (
            keys
            and keys[-1] == key
            and (events[-1].when - p.created_at).total_seconds() < 60
        ):
            groups[-1].append(p)
            continue
        keys.append(key)
        groups.append([p])
        events.append(
            Event(
                when=p.created_at,
                who=p.author,
                actor=SOURCE_ACTOR.get(DataPoint.Source(p.source), "the system"),
                kind="KPI",
                subject=p.kpi.name,
                verb="corrected" if old else "entered",
                url=reverse("kpi", args=[p.kpi_id]),
            )
        )

    def value(p: Any) -> str:
        old = replaced.get(p.pk)
        unit = p.kpi.unit
        return (
            f"{numbers.amount(p.value, unit, org.locale)} "
            f"for {timezone.localtime(p.time):%Y-%m-%d %H:%M}"
            + (f" (was {numbers.amount(old.value, unit, org.locale)})" if old else "")
        )

    for event, entered in zip(events, groups, strict=True):
        n = len(entered)
        event.verb = f"{event.verb} {'a value' if n == 1 else f'{n:,} values'} of"
        # The first three are written out (the rest only counted).
        shown = [value(p) for p in entered[:3]] + ([f"{n - 3:,} more"] if n > 3 else [])
        event.detail = ": " + "; ".join(shown)
    return events, more


def activity(
    org: Organization,
    filters: Filters,
    *,
    window: int = WINDOW,
    membership: Membership | None = None,
) -> Feed:
    """The events matching `filters`, newest first. With `membership` (a reader who
    is not an admin), a change naming an objective or KPI they may not see is left
    out; with `filters.objective`, only that objective's own feed."""
    related = RelatedNames(org.locale)
    pending: list[tuple[Event, list[Change]]] = []
    events: list[Event] = []
    truncated = beyond = False
    records: dict[type[models.Model], list[Any]] = {}
    sources = [
        s
        for s in SOURCES
        if filters.wants(s.filter_kind)
        and (filters.objective is None or s.model in (Objective, KeyResult))
    ]
    for source in sources:
        found, more, rows = history_events(source, org, filters, related, window=window)
        records[source.model] = rows
        pending += found
        truncated |= more
    if membership is not None and not membership.is_admin and pending:
        hidden = hidden_relations(
            membership, records.get(Objective, []), records.get(KeyResult, [])
        )
        if hidden:  # diff again without what the reader may not see
            related = RelatedNames(org.locale)
            pending = [
                (
                    event,
                    [
                        c
                        for c in changes
                        if not {(c.name, c.before), (c.name, c.after)} & hidden
                    ],
                )
                for event, changes in pending
            ]
            pending = [(e, c) for e, c in pending if c or e.verb != "changed"]
            for _, changes in pending:
                for change in changes:
                    related.want(change)
    events += describe(pending, related)
    if filters.wants("checkin"):
        found_checkins, more = checkin_feed(org, filters, window=window)
        events += found_checkins
        truncated |= more
    if filters.objective is None and filters.wants("kpi"):
        # Values entered together read as one event, so a window of points is not
        # a window of events: they read the whole window whatever the page.
        found_kpi, more = target_events(org, filters, window=window)
        events += found_kpi
        truncated |= more
        found_kpi, more = point_events(org, filters, window=WINDOW)
        events += found_kpi
        beyond |= more
    events.sort(key=lambda e: e.when, reverse=True)
    return Feed(events=events, truncated=truncated, beyond=truncated or beyond)


def objective_activity(
    objective: Objective, *, membership: Membership, limit: int = 10
) -> list[Event]:
    """The objective's latest changes, its key results' and its check-ins, as
    `membership` may see them (its page shows the first few)."""
    feed = activity(
        objective.organization,
        Filters(objective=objective.pk),
        window=limit,
        membership=membership,
    )
    events = feed.events[:limit]
    for source in OBJECTIVE_EVENT_SOURCES:
        events += source(objective, membership, limit)
    events.sort(key=lambda e: e.when, reverse=True)
    return events[:limit]
