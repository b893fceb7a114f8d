"""The full-text index search reads: the database's own, kept by the database itself.

Six kinds of rows are searched (SOURCES): objectives, key results, initiatives, KPIs,
teams and people. Their text is indexed where it lives, so that every way a row is
written (a form, the API, a CSV import, a demo builder's `bulk_create`, raw SQL) is
found at once, with nothing for the actions to remember:

- PostgreSQL: a column `search_document` on each searched table, a weighted `tsvector`
  ('simple' configuration: no stemming, any language) that PostgreSQL computes from the
  row's text on every write (`GENERATED ALWAYS AS (document_sql) STORED`), with a GIN
  index on it (`search_<kind>_doc`). Queries match and rank on the stored vector
  (`StoredDocument`): ranking 1,867 matching objectives no longer parses each one's
  text again (bench/README.md). The column is not a model field: the models stay the
  same on both databases, the ORM never writes it, and a write cannot forget it.
- SQLite: an FTS5 table per source table with external content (it stores only the
  index; the text stays in the table) and three triggers that keep it in step with
  every INSERT, UPDATE of the indexed columns and DELETE. A migration that rebuilds a
  source table on SQLite (Django's "remake table") drops its triggers; `ensure_sqlite`
  runs after every `migrate` (apps.py) and recreates them, rebuilding the index.

The generated column's caveat, PostgreSQL's twin of SQLite's lost triggers: a column
that `search_document` is computed from cannot change type ("cannot alter type of a
column used by a generated column"), so a later `AlterField` that changes one (a new
`max_length`, a collation) fails on PostgreSQL; and removing such a column silently
drops `search_document` with it (Django drops columns with CASCADE). Such a migration
first drops the document of that table, on PostgreSQL only: a `RunPython` step before
the `AlterField` that runs `ALTER TABLE <table> DROP COLUMN IF EXISTS search_document`
when `schema_editor.connection.vendor == "postgresql"` (plain SQL: a lower app never
imports this one). `ensure_postgresql`, run after every `migrate` (apps.py) like
`ensure_sqlite`, adds a missing column and its index back, computed from the columns as
they now are. A change to SOURCES (which columns, their weights) comes with a migration
of this app that runs `drop_documents`; `ensure_postgresql` then adds the new ones.

Both tokenize the same way: words are runs of letters and digits, so "e-mail",
"acme.com" and "bob@acme.com" are several words (PostgreSQL's parser would keep an
email or a host name whole; `translate` turns their punctuation into spaces first).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import F, Func
from django.db.models.sql.compiler import SQLCompiler

# Punctuation PostgreSQL's parser keeps inside one token (emails, hosts, paths,
# versions, hyphenated words), turned into spaces: the same words as FTS5's unicode61.
JOINERS = "@./-_+:"


@dataclass(frozen=True)
class Source:
    kind: str  # the name results are grouped by (and the API's `kind`)
    table: str
    fields: tuple[tuple[str, str], ...]  # (column, weight A-D): A ranks highest

    @property
    def fts_table(self) -> str:
        return f"search_{self.kind}_fts"

    @property
    def index_name(self) -> str:
        return f"search_{self.kind}_doc"

    @property
    def columns(self) -> list[str]:
        return [column for column, _ in self.fields]


SOURCES = (
    Source("objective", "okrs_objective", (("title", "A"), ("description", "B"))),
    Source("key_result", "okrs_keyresult", (("title", "A"), ("description", "B"))),
    Source("initiative", "okrs_initiative", (("title", "A"),)),
    Source("kpi", "kpis_kpi", (("name", "A"), ("definition", "B"), ("category", "C"))),
    Source("team", "orgs_team", (("name", "A"),)),
    Source("person", "orgs_user", (("full_name", "A"), ("email", "B"))),
)
BY_KIND = {source.kind: source for source in SOURCES}
# bm25 weights of the columns on SQLite, by the same letters.
BM25_WEIGHT = {"A": "10.0", "B": "2.0", "C": "1.0", "D": "0.5"}


def document_sql(source: Source, columns: list[str]) -> str:
    """The weighted tsvector of a row, every constant written out."""
    spaces = " " * len(JOINERS)
    return " || ".join(
        f"setweight(to_tsvector('simple'::regconfig, translate(COALESCE({column}, ''),"
        f" '{JOINERS}', '{spaces}')), '{weight}')"
        for column, (_, weight) in zip(columns, source.fields, strict=True)
    )


class Document(Func):
    """`document_sql` as a query expression: the first migration's index expression
    (kept for it and for going back to it; searches read `StoredDocument`)."""

    output_field = SearchVectorField()

    def __init__(self, source: Source) -> None:
        self.source = source
        super().__init__(*(F(column) for column in source.columns))

    def as_sql(  # type: ignore[override]  # Func's signature, fewer options used
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        columns: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            sql, column_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(column_params)
        return f"({document_sql(self.source, columns)})", params


def gin_index(source: Source) -> GinIndex:
    """The first migration's index: an expression index over `Document`."""
    return GinIndex(Document(source), name=source.index_name)


# PostgreSQL: the stored document

DOCUMENT_COLUMN = "search_document"
# The migration that stores the documents: until it is applied (or once it is
# reversed), `ensure_postgresql` adds nothing.
STORED_MIGRATION = ("search", "0002_stored_document")


class StoredDocument(Func):
    """The row's stored `search_document` column (PostgreSQL), under whatever alias the
    query gives its table: that of the row's primary key (a subquery renames it)."""

    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__(F("pk"))

    def as_sql(  # type: ignore[override]  # Func's signature, fewer options used
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        (pk,) = self.get_source_expressions()
        pk_sql, params = compiler.compile(pk)
        table, _, _ = pk_sql.rpartition(".")
        column = connection.ops.quote_name(DOCUMENT_COLUMN)
        return (f"{table}.{column}" if table else column), list(params)


def document_statements(source: Source, quote: Callable[[str], str]) -> list[str]:
    """The generated column and its GIN index, on a table that has neither."""
    table, column = quote(source.table), quote(DOCUMENT_COLUMN)
    document = document_sql(source, [quote(c) for c in source.columns])
    return [
        f"ALTER TABLE {table} ADD COLUMN {column} tsvector "
        f"GENERATED ALWAYS AS ({document}) STORED",
        f"CREATE INDEX {quote(source.index_name)} ON {table} USING gin ({column})",
    ]


def store_documents(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """The second migration's step (PostgreSQL only): the expression indexes give way
    to the stored column and its index (each table is rewritten once)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for source in SOURCES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(source.index_name)}")
        for statement in document_statements(source, quote):
            schema_editor.execute(statement)
        # The planner's statistics of the new column (its lexemes), as `landmark
        # demo` gives a fresh build: without them it guesses how many rows match.
        schema_editor.execute(
            f"ANALYZE {quote(source.table)} ({quote(DOCUMENT_COLUMN)})"
        )


def drop_documents(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """The column (and with it its index) off every searched table, on PostgreSQL."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for source in SOURCES:
        schema_editor.execute(
            f"ALTER TABLE {quote(source.table)} "
            f"DROP COLUMN IF EXISTS {quote(DOCUMENT_COLUMN)}"
        )


def unstore_documents(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Back to the first migration's expression indexes."""
    if schema_editor.connection.vendor != "postgresql":
        return
    drop_documents(apps, schema_editor)
    add_expression_indexes(apps, schema_editor)


def ensure_postgresql(connection: BaseDatabaseWrapper) -> list[str]:
    """Add back a document column, or its index, that a migration dropped (see the
    caveat above). Returns the kinds mended. A no-op (three small reads) when all
    is in place, or before the documents' migration."""
    mended = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM django_migrations WHERE app = %s AND name = %s",
            list(STORED_MIGRATION),
        )
        if cursor.fetchone() is None:
            return []
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = %s",
            [DOCUMENT_COLUMN],
        )
        with_column = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
        indexes = {row[0] for row in cursor.fetchall()}
        for source in SOURCES:
            add_column, create_index = document_statements(source, quote)
            if source.table not in with_column:
                cursor.execute(add_column)
            elif source.index_name in indexes:
                continue
            cursor.execute(create_index)
            mended.append(source.kind)
    return mended


# SQLite


def sqlite_statements(source: Source) -> list[str]:
    """The FTS5 table (if absent) and its three triggers (if absent)."""
    fts, table = source.fts_table, source.table
    cols = ", ".join(source.columns)
    new = ", ".join(f"new.{c}" for c in source.columns)
    old = ", ".join(f"old.{c}" for c in source.columns)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in source.columns)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE ON {table} "
        f"WHEN {changed} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END",
    ]


def sqlite_triggers(source: Source) -> list[str]:
    return [f"{source.fts_table}_{suffix}" for suffix in ("ai", "ad", "au")]


def ensure_sqlite(connection: BaseDatabaseWrapper) -> list[str]:
    """Create what is missing of the FTS5 index; rebuild an index that missed writes.

    Returns the kinds rebuilt. A no-op (six small reads) when all is in place.
    """
    rebuilt = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
        present = {row[0] for row in cursor.fetchall()}
        for source in SOURCES:
            if source.table not in present:
                continue  # before the source table's own migration
            fresh = source.fts_table not in present
            if fresh:
                weights = ", ".join(BM25_WEIGHT[w] for _, w in source.fields)
                cursor.execute(
                    f"CREATE VIRTUAL TABLE {source.fts_table} USING fts5("
                    f"{', '.join(source.columns)}, content='{source.table}', "
                    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', "
                    # Prefix indexes: "de", "dea" are looked up, not scanned for.
                    "prefix='2 3')"
                )
                cursor.execute(
                    f"INSERT INTO {source.fts_table}({source.fts_table}, rank) "
                    f"VALUES ('rank', 'bm25({weights})')"
                )
            if fresh or not set(sqlite_triggers(source)) <= present:
                for statement in sqlite_statements(source):
                    cursor.execute(statement)
                cursor.execute(
                    f"INSERT INTO {source.fts_table}({source.fts_table}) "
                    "VALUES ('rebuild')"
                )
                rebuilt.append(source.kind)
    return rebuilt


def install(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """The first migration's step: the index of this database's kind (on PostgreSQL
    expression indexes, which the second migration replaces by stored documents)."""
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        ensure_sqlite(connection)
    elif connection.vendor == "postgresql":
        add_expression_indexes(apps, schema_editor)


def add_expression_indexes(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for source in SOURCES:
        app_label, _, _ = source.table.partition("_")
        model = next(
            m
            for m in apps.get_app_config(app_label).get_models()
            if m._meta.db_table == source.table
        )
        schema_editor.add_index(model, gin_index(source))


def uninstall(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    for source in SOURCES:
        if connection.vendor == "sqlite":
            for trigger in sqlite_triggers(source):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            schema_editor.execute(f"DROP TABLE IF EXISTS {source.fts_table}")
        elif connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {source.index_name}")
