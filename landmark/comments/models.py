"""Comments: a plain-text thread on an objective (and its key results) or a KPI.

A comment on a key result also names the key result's objective, so the objective's
page reads its whole discussion in one query. Each comment written, edited or deleted
leaves a CommentEvent, which the objective's activity and the KPI's history show ("Sam
commented"); a deleted comment's text is gone, its event stays.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs.models import Organization, User

MAX_LENGTH = 4000


class Comment(models.Model):
    """What someone wrote on an objective, a key result or a KPI."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key_result = models.ForeignKey(
        KeyResult, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kpi = models.ForeignKey(
        KPI, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                # On an objective (or one of its key results), or on a KPI.
                condition=(
                    Q(objective__isnull=False, kpi__isnull=True)
                    | Q(
                        objective__isnull=True,
                        key_result__isnull=True,
                        kpi__isnull=False,
                    )
                ),
                name="comment_on_one_item",
            )
        ]
        indexes = [
            models.Index(fields=["objective", "created_at"], name="comment_objective"),
            models.Index(fields=["kpi", "created_at"], name="comment_kpi"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} by {self.author_id}"


class CommentEvent(models.Model):
    """A comment written, edited or deleted: the item's history line."""

    class Action(models.TextChoices):
        CREATED = "created", "commented"
        EDITED = "edited", "edited a comment"
        DELETED = "deleted", "deleted a comment"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key_result = models.ForeignKey(
        KeyResult, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kpi = models.ForeignKey(
        KPI, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["objective", "-at"], name="comment_event_objective"),
            models.Index(fields=["kpi", "-at"], name="comment_event_kpi"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.action} at {self.at}"
