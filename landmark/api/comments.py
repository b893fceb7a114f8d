"""Comments on objectives, key results and KPIs, with @mentions that notify.

Each route reaches the item through its access helper (another organization's item,
or a private one the caller may not open, is a 404; a viewer writing is a 403) and
writes through comments.actions, as the web's thread does: the same length limit,
the same mention rules (docs/okrs.md, "Comments").
"""

from datetime import datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from landmark.api.auth import membership_of
from landmark.api.etags import IF_MATCH, check_if_match, tag
from landmark.api.pagination import Cursor, Limit, Page, paginate
from landmark.api.responses import created
from landmark.api.schemas import LEFT_OUT, Filters, Id, In, Patch, Text
from landmark.comments import actions
from landmark.comments.access import (
    get_comment_for_member,
    get_comment_to_delete,
    get_comment_to_edit,
)
from landmark.comments.actions import Target
from landmark.comments.models import MAX_LENGTH, Comment
from landmark.kpis.access import get_kpi_for_member
from landmark.okrs.access import get_key_result_for_member, get_objective_for_member
from landmark.orgs.access import require_write

router = Router(tags=["comments"])

BODY = (
    f"Plain text, at most {MAX_LENGTH:,} characters once trimmed; line breaks are "
    "kept. `@handle` (the part of a member's email before the @, or their whole "
    "address) notifies that member."
)


class CommentOut(Schema):
    id: int
    body: str
    author_id: int | None
    author_name: str | None = Field(
        description="The author's display name; null once their account is gone."
    )
    objective_id: int | None
    key_result_id: int | None
    kpi_id: int | None
    created_at: datetime
    edited_at: datetime | None

    @staticmethod
    def resolve_author_name(obj: Comment) -> str | None:
        return obj.author.display_name if obj.author else None


class CommentIn(In):
    body: Text = Field(description=BODY)


class CommentPatch(Patch):
    body: Text = Field(LEFT_OUT, description=BODY)


class CommentFilters(Filters):
    sort: Literal["created_at", "-created_at"] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class CommentPage(Page[CommentOut]):
    pass


def page_of(rows: QuerySet[Comment], q: CommentFilters) -> dict[str, Any]:
    return paginate(
        rows.select_related("author"), sort=q.sort, cursor=q.cursor, limit=q.limit
    )


@router.get(
    "/objectives/{pk}/comments",
    response=CommentPage,
    summary="An objective's comments (its key results' too)",
)
def list_objective_comments(
    request: HttpRequest, pk: Path[Id], q: Query[CommentFilters]
) -> dict[str, Any]:
    objective = get_objective_for_member(membership_of(request), pk)
    return page_of(Target(objective=objective).thread(), q)


@router.post(
    "/objectives/{pk}/comments",
    response={201: CommentOut},
    summary="Comment on an objective",
)
def create_objective_comment(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: CommentIn
) -> Status[Comment]:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    require_write(membership)
    comment = actions.post_comment(
        target=Target(objective=objective), author=membership.user, body=body.body
    )
    return created(response, "comments", comment)


@router.get(
    "/key-results/{pk}/comments",
    response=CommentPage,
    summary="A key result's comments",
)
def list_key_result_comments(
    request: HttpRequest, pk: Path[Id], q: Query[CommentFilters]
) -> dict[str, Any]:
    key_result = get_key_result_for_member(membership_of(request), pk)
    target = Target(objective=key_result.objective, key_result=key_result)
    return page_of(target.thread(), q)


@router.post(
    "/key-results/{pk}/comments",
    response={201: CommentOut},
    summary="Comment on a key result",
)
def create_key_result_comment(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: CommentIn
) -> Status[Comment]:
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk)
    require_write(membership)
    comment = actions.post_comment(
        target=Target(objective=key_result.objective, key_result=key_result),
        author=membership.user,
        body=body.body,
    )
    return created(response, "comments", comment)


@router.get("/kpis/{pk}/comments", response=CommentPage, summary="A KPI's comments")
def list_kpi_comments(
    request: HttpRequest, pk: Path[Id], q: Query[CommentFilters]
) -> dict[str, Any]:
    kpi = get_kpi_for_member(membership_of(request), pk)
    return page_of(Target(kpi=kpi).thread(), q)


@router.post(
    "/kpis/{pk}/comments", response={201: CommentOut}, summary="Comment on a KPI"
)
def create_kpi_comment(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: CommentIn
) -> Status[Comment]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    comment = actions.post_comment(
        target=Target(kpi=kpi), author=membership.user, body=body.body
    )
    return created(response, "comments", comment)


@router.get("/comments/{pk}", response=CommentOut, summary="One comment")
def get_comment(request: HttpRequest, response: HttpResponse, pk: Path[Id]) -> Comment:
    return tag(response, CommentOut, get_comment_for_member(membership_of(request), pk))


@router.patch(
    "/comments/{pk}", response=CommentOut, summary="Edit a comment (its author)"
)
def update_comment(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: CommentPatch,
    if_match: str | None = IF_MATCH,
) -> Comment:
    membership = membership_of(request)
    with transaction.atomic():
        comment = check_if_match(
            if_match, CommentOut, lambda: get_comment_to_edit(membership, pk)
        )
        if body.body is not None:
            actions.edit_comment(
                comment=comment, editor=membership.user, body=body.body
            )
    return tag(response, CommentOut, get_comment_for_member(membership, pk))


@router.delete(
    "/comments/{pk}",
    response={204: None},
    summary="Delete a comment (its author or an admin)",
)
def delete_comment(request: HttpRequest, pk: Path[Id]) -> Status[None]:
    membership = membership_of(request)
    comment = get_comment_to_delete(membership, pk)
    actions.delete_comment(comment=comment, actor=membership.user)
    return Status(204, None)
