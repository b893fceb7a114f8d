"""Search: one query over objectives, key results, initiatives, KPIs, teams and people
of the caller's organization, as the web's search box (landmark/search/read.py)."""

from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from landmark.api.auth import membership_of
from landmark.api.schemas import NO_NUL, Filters
from landmark.search import read

router = Router(tags=["search"])

Kind = Literal["objective", "key_result", "initiative", "kpi", "team", "person"]


class SearchFilters(Filters):
    q: str = Field(
        min_length=1,
        max_length=read.MAX_LENGTH,
        pattern=NO_NUL,
        description="Words to find, each as the start of a word: `dea` finds "
        f"“deals”. Every word must match; at most {read.MAX_TERMS} count. Anything "
        "but letters and digits only separates words (no operators).",
    )
    kind: Kind | None = Field(None, description="Only this kind of result.")
    limit: int = Field(10, ge=1, le=50, description="Results of each kind, at most.")


class HitOut(Schema):
    id: int
    title: str = Field(description="A person's name (or email address), a KPI's name.")
    url: str = Field(description="Its page in the web app (a path).")
    context: str = Field(
        description="What tells two results apart: an objective's period, a key "
        "result's objective, an initiative's key result, a KPI's category, a team's "
        "kind, a person's email address."
    )


class GroupOut(Schema):
    kind: Kind
    label: str
    items: list[HitOut] = Field(description="Best first.")
    more: bool = Field(description="More of this kind match than `limit`.")


class SearchOut(Schema):
    q: str
    groups: list[GroupOut] = Field(
        description="One per kind asked for, in a fixed order, empty ones included."
    )


@router.get(
    "/search",
    response=SearchOut,
    summary="Search the organization",
    description="What the caller may open, by kind: a private objective or KPI only "
    "for who may open it, never another organization's rows.",
)
def search(request: HttpRequest, filters: Query[SearchFilters]) -> SearchOut:
    membership = membership_of(request)
    kinds = (filters.kind,) if filters.kind else read.KINDS
    try:
        results = read.search(membership, filters.q, limit=filters.limit, kinds=kinds)
    except read.BadQuery as error:
        raise ValidationError({"q": str(error)}) from error
    return SearchOut(
        q=filters.q,
        groups=[
            GroupOut(
                kind=group.kind,  # type: ignore[arg-type]  # one of read.KINDS
                label=group.label,
                items=[
                    HitOut(id=h.id, title=h.title, url=h.url, context=h.context)
                    for h in group.hits
                ],
                more=group.more,
            )
            for group in results.groups
        ],
    )
