"""A search over the caller's organization: what they may open, by kind, best first.

Each kind is one query: the rows this member may open (the same access helpers the
pages use, so a private objective or KPI they may not open is never a candidate, nor
counted), filtered by the full-text index of index.py, ordered by rank. Six queries
whatever the data size.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from landmark.kpis.access import kpis_for_member
from landmark.okrs.access import key_results_for_member, objectives_for_member
from landmark.okrs.models import Initiative
from landmark.orgs.access import org_users
from landmark.orgs.models import Membership, Team
from landmark.search.index import StoredDocument

MAX_LENGTH = 200  # characters of a query
MAX_TERMS = 8  # words of a query that count; the rest are ignored
# Letters and digits: the words both indexes see (index.py). Everything else in a
# query (quotes, `*`, `-`, `:`, parentheses, FTS operators' punctuation) separates.
WORD = re.compile(r"[^\W_]+")

LABELS = {
    "objective": "Objectives",
    "key_result": "Key results",
    "initiative": "Initiatives",
    "kpi": "KPIs",
    "team": "Teams",
    "person": "People",
}
KINDS = tuple(LABELS)


class BadQuery(ValueError):
    """A query that cannot be searched; the message says why, for the person."""


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool  # matches the start of a word ("dea" finds "deals"), else a whole word


def terms_of(q: str) -> list[Term]:
    """The words of a query, each matched as the start of a word ("dea" finds "deals").

    A single letter or digit would match most words of a large organization (and be the
    slowest search there is) while narrowing nothing: beside longer words it is left
    out ("grow s" is "grow"), alone it matches only itself as a word ("q" finds "Q").
    Raises BadQuery for a query that is too long or has no letter or digit.
    """
    if len(q) > MAX_LENGTH:
        raise BadQuery(f"Search for at most {MAX_LENGTH} characters.")
    words = [word.lower() for word in WORD.findall(q)][:MAX_TERMS]
    if not words:
        raise BadQuery("Type a word (letters or digits) to search for.")
    longer = [word for word in words if len(word) > 1]
    if not longer:
        return [Term(word, prefix=False) for word in words]
    return [Term(word, prefix=True) for word in longer]


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    title: str
    url: str
    context: str  # a few words that tell two hits apart (period, objective, email...)


@dataclass
class Group:
    kind: str
    label: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False  # there are more matches than shown


@dataclass
class Results:
    q: str
    groups: list[Group]

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups)

    @property
    def shown(self) -> list[Group]:
        return [group for group in self.groups if group.hits]


def matching(rows: QuerySet[Any], terms: list[Term]) -> QuerySet[Any]:
    """`rows` whose indexed text has every term as a word prefix, best first."""
    if connection.vendor == "postgresql":
        query = SearchQuery(
            " & ".join(f"{t.word}:*" if t.prefix else t.word for t in terms),
            search_type="raw",
            config="simple",
        )
        # The stored vector (index.py): found through its GIN index, ranked without
        # parsing each matching row's text again.
        document = StoredDocument()
        ranked: QuerySet[Any] = (
            rows.alias(document=document)
            .filter(document=query)
            .annotate(rank=SearchRank(document, query))
            .order_by("-rank", "pk")
        )
        return ranked
    if connection.vendor == "sqlite":
        expression = " ".join(f'"{t.word}"' + ("*" if t.prefix else "") for t in terms)
        return rows.filter(search_text__document__match=expression).order_by(
            "search_text__rank", "pk"
        )
    raise NotImplementedError(f"No full-text search on {connection.vendor}.")


def candidates(membership: Membership, kind: str) -> QuerySet[Any]:
    """What this member may open, of one kind, with what its hit shows (those columns
    only: a page of hits is 120 rows, and reading whole rows into models cost more
    than the search's queries)."""
    org = membership.organization
    if kind == "objective":
        return (
            objectives_for_member(membership)
            .select_related("period")
            .only("title", "period__name")
        )
    if kind == "key_result":
        return (
            key_results_for_member(membership)
            .prefetch_related(None)  # its KPI is not shown here
            .select_related("objective")
            .only("title", "objective__title")
        )
    if kind == "initiative":
        shown = objectives_for_member(membership).filter(
            pk=OuterRef("key_result__objective_id")
        )
        return (
            Initiative.objects.filter(organization=org)
            .filter(Exists(shown))
            .select_related("key_result")
            .only("title", "key_result__title", "key_result__objective_id")
        )
    if kind == "kpi":
        return kpis_for_member(membership).only("name", "archived", "category", "unit")
    if kind == "team":
        return Team.objects.filter(organization=org).only("name", "kind")
    if kind == "person":
        return org_users(membership).only("full_name", "email")
    raise ValueError(f"Unknown kind {kind!r}")


def hit(kind: str, row: Any) -> Hit:
    if kind == "objective":
        return Hit(
            kind,
            row.pk,
            row.title,
            reverse("objective", args=[row.pk]),
            row.period.name,
        )
    if kind == "key_result":
        url = reverse("objective", args=[row.objective_id]) + f"#kr-{row.pk}"
        return Hit(kind, row.pk, row.title, url, row.objective.title)
    if kind == "initiative":
        url = (
            reverse("objective", args=[row.key_result.objective_id])
            + f"#kr-{row.key_result_id}"
        )
        return Hit(kind, row.pk, row.title, url, row.key_result.title)
    if kind == "kpi":
        context = "archived" if row.archived else (row.category or row.unit)
        return Hit(kind, row.pk, row.name, reverse("kpi", args=[row.pk]), context)
    if kind == "team":
        url = reverse("tree") + f"?team={row.pk}"
        return Hit(kind, row.pk, row.name, url, row.get_kind_display())
    url = reverse("tree") + f"?owner={row.pk}"
    return Hit(kind, row.pk, row.full_name or row.email, url, row.email)


def search(
    membership: Membership,
    q: str,
    *,
    limit: int,
    kinds: tuple[str, ...] = KINDS,
) -> Results:
    """Up to `limit` hits of each kind (one query each). Raises BadQuery."""
    terms = terms_of(q)
    groups = []
    for kind in kinds:
        rows = list(matching(candidates(membership, kind), terms)[: limit + 1])
        groups.append(
            Group(
                kind,
                LABELS[kind],
                [hit(kind, row) for row in rows[:limit]],
                len(rows) > limit,
            )
        )
    return Results(q, groups)
