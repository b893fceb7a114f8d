"""What happened in a thread, as lines of the objective's activity and the KPI's
history (registered with okrs.activity and kpis.detail_views in apps.py): one query
each, whatever the number of comments."""

from landmark.comments.models import CommentEvent
from landmark.kpis.detail_views import Edit
from landmark.kpis.models import KPI
from landmark.okrs.activity import Event
from landmark.okrs.models import Objective
from landmark.orgs.models import Membership

VERBS = {
    CommentEvent.Action.CREATED: "commented on",
    CommentEvent.Action.EDITED: "edited a comment on",
    CommentEvent.Action.DELETED: "deleted a comment on",
}


def objective_events(
    objective: Objective, membership: Membership, limit: int
) -> list[Event]:
    """Comments on the objective and its key results (the reader may open the
    objective, so its key results too)."""
    del membership  # the caller's access check covers the whole thread
    rows = (
        CommentEvent.objects.filter(
            organization_id=objective.organization_id, objective=objective
        )
        .select_related("actor", "key_result")
        .order_by("-at", "-pk")[:limit]
    )
    return [
        Event(
            when=row.at,
            who=row.actor,
            kind="key result" if row.key_result_id else "objective",
            subject=row.key_result.title if row.key_result else objective.title,
            verb=VERBS[CommentEvent.Action(row.action)],
            url=f"#comment-{row.comment_id}" if row.comment_id else "",
        )
        for row in rows
    ]


def kpi_edits(kpi: KPI, limit: int) -> list[Edit]:
    rows = (
        CommentEvent.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )
    return [
        Edit(
            when=row.at,
            who=row.actor.display_name if row.actor else "Someone",
            kind=VERBS[CommentEvent.Action(row.action)],
            changes=[],
        )
        for row in rows
    ]
