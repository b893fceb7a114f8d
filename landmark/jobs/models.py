"""What the scheduled jobs did last: one row per job name (`landmark jobs` reads it)."""

from django.db import models


class JobRun(models.Model):
    """The latest run of one scheduled job, across every worker on every machine."""

    name = models.CharField(max_length=60, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # The error that ended the latest run ("" when it succeeded), for operators.
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
