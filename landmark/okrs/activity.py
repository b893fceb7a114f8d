"""Who changed what and when, from django-simple-history, as plain sentences.

Diffs are computed in Python from each object's versions fetched in one query per
model, so a feed costs the same number of queries however long it is.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import models

from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPI, DataPoint, KPITarget
from landmark.okrs.access import objectives_for_member
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period, fmt
from landmark.orgs.models import Membership, Organization, User

VERB = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Event:
    when: datetime
    who: User | None
    kind: str  # "objective", "key result", "check-in", ...
    subject: str
    verb: str
    changes: list[str]
    url: str = ""


def model_field(model: type[models.Model], name: str) -> "models.Field[Any, Any]":
    return cast("models.Field[Any, Any]", model._meta.get_field(name))


def field_value(model: type[models.Model], name: str, value: Any) -> str:
    field = model_field(model, name)
    if value is None or value == "":
        return "—"
    if getattr(field, "choices", None):
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]  # choices are pairs
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return fmt(value)
    return str(value)


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

    def __init__(self) -> None:
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.names: dict[type[models.Model], dict[Any, str]] = {}

    def want(self, change: Change) -> None:
        related = model_field(change.model, change.name).related_model
        if isinstance(related, type):
            self.wanted[related] |= {change.before, change.after} - {None}

    def load(self) -> None:
        for model, ids in self.wanted.items():
            self.names[model] = {
                pk: str(obj) for pk, obj in model._default_manager.in_bulk(ids).items()
            }

    def describe(self, change: Change) -> str:
        field = model_field(change.model, change.name)
        label = str(field.verbose_name)
        related = field.related_model
        if not isinstance(related, type):
            before = field_value(change.model, change.name, change.before)
            after = field_value(change.model, change.name, change.after)
            return f"{label}: {before} → {after}"
        names = self.names.get(related, {})
        gone = f"a deleted {related._meta.verbose_name}"
        before, after = (
            "—" if pk is None else names.get(pk, gone)
            for pk in (change.before, change.after)
        )
        return f"{label}: {before} → {after}"


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
    turns them into text once every feed's relations are loaded."""
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
                    changes=[],
                    url=url(r) if url else "",
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
        event.changes = [related.describe(c) for c in changes]
        events.append(event)
    return events


def checkin_events(checkins: Iterable[CheckIn]) -> list[Event]:
    events = []
    for c in checkins:
        value = (
            ("done" if c.done else "not done") if c.done is not None else fmt(c.value)
        )
        if c.from_kpi:  # Landmark's doing, not the author's word
            event = Event(
                when=c.created_at,
                who=None,
                kind="key result",
                subject=c.key_result.title,
                verb="updated from its KPI",
                changes=[f"value: {value}"],
            )
        else:
            event = Event(
                when=c.created_at,
                who=c.author,
                kind="key result",
                subject=c.key_result.title,
                # Imported history is the importer's doing at a past time, not a
                # check-in they made then.
                verb="imported a check-in on" if c.imported else "checked in on",
                changes=[
                    f"value: {value}",
                    f"status: {c.get_status_display() or '—'}",
                ],
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


def objective_activity(
    objective: Objective, *, membership: Membership, limit: int = 40
) -> list[Event]:
    """The objective's own changes, its key results' changes and its check-ins, as
    `membership` may see them (a change naming a hidden objective or KPI is left out)."""
    records = list(
        Objective.history.filter(id=objective.pk).select_related("history_user")
    )
    kr_records = list(
        KeyResult.history.filter(objective_id=objective.pk).select_related(
            "history_user"
        )
    )
    hidden = hidden_relations(membership, records, kr_records)
    related = RelatedNames()
    pending = [
        *events_from(records, Objective, "objective", "title", related, hidden=hidden),
        *events_from(
            kr_records, KeyResult, "key result", "title", related, hidden=hidden
        ),
    ]
    checkins = (
        CheckIn.objects.filter(
            organization_id=objective.organization_id, key_result__objective=objective
        )
        .select_related("author", "key_result")
        .order_by("-created_at")[:limit]
    )
    events = [*describe(pending, related), *checkin_events(checkins)]
    for source in OBJECTIVE_EVENT_SOURCES:
        events += source(objective, membership, limit)
    events.sort(key=lambda e: e.when, reverse=True)
    return events[:limit]


LOGGED: list[tuple[type[models.Model], str, str]] = [
    (Objective, "objective", "title"),
    (KeyResult, "key result", "title"),
    (Period, "period", "name"),
    (Membership, "membership", "user"),
    (KPI, "KPI", "name"),
]


def target_events(org: Organization, *, limit: int) -> list[Event]:
    """Per-window targets set or cleared (a schedule is replaced as a whole)."""
    records = (
        KPITarget.history.filter(organization_id=org.pk)
        .select_related("history_user", "kpi")
        .order_by("-history_date", "-history_id")[:limit]
    )
    events = []
    for r in records:
        bounds = " – ".join(fmt(v) for v in (r.low, r.high) if v is not None)
        events.append(
            Event(
                when=r.history_date,
                who=r.history_user,
                kind="KPI",
                subject=r.kpi.name if r.kpi else "a deleted KPI",
                verb="set a target of"
                if r.history_type != "-"
                else "cleared a target of",
                changes=[f"window from {r.window_start:%Y-%m-%d}: {bounds}"],
            )
        )
    return events


def point_events(org: Organization, *, limit: int) -> list[Event]:
    """Values entered: a data point is never edited in place (a correction is a new
    version that keeps the old one), so its rows are its audit trail. Values entered
    together (an import, an API batch) read as one event."""
    points = list(
        DataPoint.objects.filter(organization_id=org.pk)
        .order_by("-created_at", "-pk")
        .select_related("author", "kpi")
        # Ten rows an event: only what the feed shows.
        .only(
            *("time", "value", "source", "created_at", "kpi__name"),
            *("author__full_name", "author__email"),
        )[: limit * 10]
    )
    replaced = {
        p.replaced_by_id: p
        for p in DataPoint.objects.filter(
            organization_id=org.pk,
            replaced_by__isnull=False,  # the index holds only these
            replaced_by__in=[p.pk for p in points],
        ).order_by()
    }
    events: list[Event] = []
    keys: list[tuple[Any, ...]] = []  # what groups points into one event
    for p in points:
        old = replaced.get(p.pk)
        change = f"{p.time:%Y-%m-%d %H:%M}: " + (
            f"{fmt(old.value)} → {fmt(p.value)}" if old else fmt(p.value)
        )
        key = (p.kpi_id, p.author_id, p.source, old is not None)
        if (
            keys
            and keys[-1] == key
            and (events[-1].when - p.created_at).total_seconds() < 60
        ):
            events[-1].changes.append(change)
            continue
        keys.append(key)
        events.append(
            Event(
                when=p.created_at,
                who=p.author,
                kind="KPI",
                subject=p.kpi.name,
                verb="corrected values of" if old else "entered values of",
                changes=[f"source: {p.get_source_display()}", change],
            )
        )
    for event in events:  # a long batch is summed up
        if len(event.changes) > 6:  # the source, then the first three values
            extra = len(event.changes) - 4
            event.changes = [*event.changes[:4], f"and {extra:,} more values"]
    return events[:limit]


def organization_activity(org: Organization, *, limit: int = 100) -> list[Event]:
    """The latest changes across the organization, for admins."""
    events: list[Event] = [
        *point_events(org, limit=limit),
        *target_events(org, limit=limit),
    ]
    events += checkin_events(
        CheckIn.objects.filter(organization_id=org.pk)
        .select_related("author", "key_result")
        .order_by("-created_at")[:limit]
    )
    related = RelatedNames()
    pending: list[tuple[Event, list[Change]]] = []
    for model, kind, subject in LOGGED:
        history = model.history  # type: ignore[attr-defined]  # added by HistoricalRecords
        recent_ids = list(
            history.filter(organization_id=org.pk)
            .order_by("-history_date")
            .values_list("id", flat=True)[:limit]
        )
        records = history.filter(
            organization_id=org.pk, id__in=set(recent_ids)
        ).select_related("history_user")
        if model is Membership:
            records = records.select_related("user")
        pending += events_from(records, model, kind, subject, related)
    events += describe(pending, related)
    events.sort(key=lambda e: e.when, reverse=True)
    return events[:limit]
