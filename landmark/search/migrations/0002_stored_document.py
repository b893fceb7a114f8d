"""On PostgreSQL, each searched table's document becomes a stored generated column
(`search_document`, a weighted tsvector kept by PostgreSQL on every write) with a GIN
index, in place of the first migration's expression index: a search then ranks from
the stored vector instead of parsing each matching row's text again
(landmark/search/index.py). Each of the six tables is rewritten once. Nothing changes
on SQLite (FTS5)."""

from django.db import migrations

from landmark.search import index


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0001_full_text_index'),
        # After every migration that exists of the searched tables' apps: a change of
        # a searched column's type must come before the column depends on it.
        ('kpis', '0006_target_strict_exact'),
        ('okrs', '0012_checkin_source_import'),
        ('orgs', '0015_organization_coach'),
    ]

    operations = [
        migrations.RunPython(
            index.store_documents, index.unstore_documents, elidable=False
        ),
    ]
