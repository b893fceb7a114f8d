"""Writes of the comments app: post, edit and delete a comment; tell who it mentions.

Each is one transaction: the comment, its history event, the mentions' notifications
(landmark.notify, sent after commit) and the `comment.created` webhook event, or none
of them.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from landmark.comments.mentions import mentioned_members
from landmark.comments.models import MAX_LENGTH, Comment, CommentEvent
from landmark.hooks.events import absolute, emit
from landmark.kpis.models import KPI
from landmark.notify.actions import Note, notify
from landmark.notify.kinds import MENTION
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs.models import Membership, User

# What a mention's notification quotes of the comment.
QUOTED = 1000


@dataclass(frozen=True)
class Target:
    """What a comment is on: an objective, one of its key results, or a KPI."""

    objective: Objective | None = None
    key_result: KeyResult | None = None
    kpi: KPI | None = None

    @classmethod
    def of(cls, comment: Comment) -> "Target":
        return cls(
            objective=comment.objective, key_result=comment.key_result, kpi=comment.kpi
        )

    def __post_init__(self) -> None:
        if (self.kpi is None) == (self.objective is None):
            raise ValueError("A comment is on an objective or on a KPI.")

    def thread(self) -> QuerySet[Comment]:
        """The comments on it: a KPI's, a key result's, or an objective's with those
        on its key results."""
        rows = Comment.objects.filter(organization_id=self.organization_id)
        if self.kpi is not None:
            return rows.filter(kpi=self.kpi)
        if self.key_result is not None:
            return rows.filter(key_result=self.key_result)
        return rows.filter(objective=self.objective)

    @property
    def organization_id(self) -> int:
        if self.kpi is not None:
            return self.kpi.organization_id
        return self.objective_of().organization_id

    def objective_of(self) -> Objective:
        if self.objective is None:
            raise ValueError("This comment is on a KPI.")
        return self.objective

    @property
    def label(self) -> str:
        if self.kpi is not None:
            return "KPI"
        return "key result" if self.key_result is not None else "objective"

    @property
    def title(self) -> str:
        if self.kpi is not None:
            return self.kpi.name
        if self.key_result is not None:
            return self.key_result.title
        return self.objective.title if self.objective else ""

    @property
    def path(self) -> str:
        if self.kpi is not None:
            return reverse("kpi", args=[self.kpi.pk])
        return reverse("objective", args=[self.objective_of().pk])

    def may_open(self, membership: Membership) -> bool:
        """Whether this member may open the item (the one visibility rule)."""
        if self.kpi is not None:
            return KPI.objects.filter(pk=self.kpi.pk).visible_to(membership).exists()
        return (
            Objective.objects.filter(pk=self.objective_of().pk)
            .visible_to(membership)
            .exists()
        )


def clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MAX_LENGTH:
        raise ValidationError(
            {
                "body": f"A comment holds at most {MAX_LENGTH:,} characters "
                f"(this one has {len(body):,})."
            }
        )
    if "\x00" in body:
        raise ValidationError({"body": "Null characters are not allowed."})
    return body


def mentions_for(target: Target, author: User, body: str) -> list[Membership]:
    """The members this text mentions, besides the author. A mention of someone who
    may not open the item (a private objective or KPI) is refused: the comment would
    tell them what they may not see."""
    org_id = target.organization_id
    members = [m for m in mentioned_members(org_id, body) if m.user_id != author.pk]
    hidden = [m for m in members if not target.may_open(m)]
    if hidden:
        names = ", ".join(m.user.display_name for m in hidden)
        raise ValidationError(
            {
                "body": f"{names} may not open this private {target.label}, so "
                "they would not see your comment: remove the mention, or share "
                f"the {target.label} with them first."
            }
        )
    return members


def tell_mentioned(comment: Comment, target: Target, members: list[Membership]) -> None:
    """A notification to each member mentioned; the dedupe key is the comment and the
    person, so an edit tells only those it newly mentions, and saving again tells no
    one twice."""
    if not members:
        return
    author = comment.author.display_name if comment.author else "Someone"
    url = f"{target.path}#comment-{comment.pk}"
    quoted = (
        comment.body if len(comment.body) <= QUOTED else comment.body[:QUOTED] + "…"
    )
    notify(
        org=members[0].organization,
        notes=[
            Note(
                recipient_id=m.user_id,
                kind=MENTION.key,
                dedupe_key=f"mention:{comment.organization_id}:{comment.pk}:{m.user_id}",
                title=f"{author} mentioned you on {target.title}",
                body=quoted,
                url=url,
                items=[
                    {
                        "title": f"Open {target.title}",
                        "url": url,
                        "detail": f"The {target.label}'s comments",
                    }
                ],
            )
            for m in members
        ],
    )


def record(comment: Comment, actor: User, action: str) -> None:
    CommentEvent.objects.create(
        organization_id=comment.organization_id,
        objective_id=comment.objective_id,
        key_result_id=comment.key_result_id,
        kpi_id=comment.kpi_id,
        comment=comment if action != CommentEvent.Action.DELETED else None,
        actor=actor,
        action=action,
        at=timezone.now(),
    )


@transaction.atomic
def post_comment(*, target: Target, author: User, body: str) -> Comment:
    body = clean_body(body)
    members = mentions_for(target, author, body)
    comment = Comment.objects.create(
        organization_id=target.organization_id,
        objective=target.objective,
        key_result=target.key_result,
        kpi=target.kpi,
        author=author,
        body=body,
        created_at=timezone.now(),
    )
    record(comment, author, CommentEvent.Action.CREATED)
    tell_mentioned(comment, target, members)

    def data() -> dict[str, object]:
        return {
            "comment": {
                "id": comment.pk,
                "body": comment.body,
                "author_id": comment.author_id,
                "objective_id": comment.objective_id,
                "key_result_id": comment.key_result_id,
                "kpi_id": comment.kpi_id,
                "created_at": comment.created_at.isoformat(),
                "url": absolute(f"{target.path}#comment-{comment.pk}"),
            }
        }

    emit(
        organization_id=comment.organization_id,
        event="comment.created",
        key=(comment.pk,),
        data=data,
    )
    return comment


@transaction.atomic
def edit_comment(*, comment: Comment, editor: User, body: str) -> Comment:
    body = clean_body(body)
    target = Target.of(comment)
    members = mentions_for(target, editor, body)
    if body != comment.body:
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        record(comment, editor, CommentEvent.Action.EDITED)
    tell_mentioned(comment, target, members)
    return comment


@transaction.atomic
def delete_comment(*, comment: Comment, actor: User) -> None:
    record(comment, actor, CommentEvent.Action.DELETED)
    comment.delete()
