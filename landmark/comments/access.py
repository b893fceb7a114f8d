"""The only way views reach comments: through the item they are on.

A comment is reached only by someone who may open its objective or KPI (another
organization's comment, or one on a private item the caller may not see, is a 404).
Writing needs a role that writes; editing is for the comment's author only, deleting
for its author and the organization's admins (docs/permissions.md).
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from landmark.comments.models import Comment
from landmark.kpis.access import get_kpi_for_member
from landmark.okrs.access import get_objective_for_member
from landmark.orgs.access import require_write
from landmark.orgs.models import Membership

AUTHOR_ONLY = "Only its author can edit a comment."
AUTHOR_OR_ADMIN = "Only its author or an admin can delete a comment."


def get_comment_for_member(membership: Membership, pk: int) -> Comment:
    comment = get_object_or_404(
        Comment.objects.select_related("author", "key_result"),
        organization=membership.organization,
        pk=pk,
    )
    # The item as the access helpers give it (404 when it is hidden).
    if comment.kpi_id is not None:
        comment.kpi = get_kpi_for_member(membership, comment.kpi_id)
    elif comment.objective_id is not None:  # the table's constraint: one of both
        comment.objective = get_objective_for_member(membership, comment.objective_id)
    return comment


def may_edit(membership: Membership, comment: Comment) -> bool:
    return membership.can_write and comment.author_id == membership.user_id


def may_delete(membership: Membership, comment: Comment) -> bool:
    return membership.can_write and (
        comment.author_id == membership.user_id or membership.is_admin
    )


def get_comment_to_edit(membership: Membership, pk: int) -> Comment:
    comment = get_comment_for_member(membership, pk)
    require_write(membership)
    if not may_edit(membership, comment):
        raise PermissionDenied(AUTHOR_ONLY)
    return comment


def get_comment_to_delete(membership: Membership, pk: int) -> Comment:
    comment = get_comment_for_member(membership, pk)
    require_write(membership)
    if not may_delete(membership, comment):
        raise PermissionDenied(AUTHOR_OR_ADMIN)
    return comment
