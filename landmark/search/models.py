"""SQLite's FTS5 tables (index.py) as unmanaged models, so that a search is one query:
the source table joined to its index by rowid, filtered with MATCH, ordered by rank.

PostgreSQL has no such tables (its document is a stored column of the source table);
these models are only read on SQLite. `managed = False`: the migration's own step makes
the tables, Django never creates, flushes or alters them.
"""

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler

from landmark.kpis.models import KPI
from landmark.okrs.models import Initiative, KeyResult, Objective
from landmark.orgs.models import Team, User


class FTS5Column(models.TextField):  # type: ignore[type-arg]  # read-only here
    """The hidden column named after an FTS5 table: `table MATCH 'query'`."""


@FTS5Column.register_lookup
class Match(models.Lookup):  # type: ignore[type-arg]  # compares text with text
    lookup_name = "match"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} MATCH {rhs}", [*lhs_params, *rhs_params]


def link(model: type[models.Model]) -> Any:
    return models.OneToOneField(
        model,
        primary_key=True,
        db_column="rowid",
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="search_text",
    )


class IndexRow(models.Model):
    """A row of an FTS5 index: its source row's id (`rowid`), the MATCH column, rank."""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.db_table} {self.pk}"


class ObjectiveText(IndexRow):
    row = link(Objective)
    document = FTS5Column(db_column="search_objective_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_objective_fts"


class KeyResultText(IndexRow):
    row = link(KeyResult)
    document = FTS5Column(db_column="search_key_result_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_key_result_fts"


class InitiativeText(IndexRow):
    row = link(Initiative)
    document = FTS5Column(db_column="search_initiative_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_initiative_fts"


class KPIText(IndexRow):
    row = link(KPI)
    document = FTS5Column(db_column="search_kpi_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_kpi_fts"


class TeamText(IndexRow):
    row = link(Team)
    document = FTS5Column(db_column="search_team_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_team_fts"


class PersonText(IndexRow):
    row = link(User)
    document = FTS5Column(db_column="search_person_fts")
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "search_person_fts"
