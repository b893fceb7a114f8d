"""The full-text index (landmark/search/index.py): on PostgreSQL a GIN index over a
weighted tsvector of each searched table; on SQLite FTS5 tables kept in step by
triggers. The models are SQLite's FTS5 tables, unmanaged (never created by Django)."""

import django.db.models.deletion
import landmark.search.models
from landmark.search import index
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('kpis', '0006_target_strict_exact'),
        ('okrs', '0012_checkin_source_import'),
        ('orgs', '0010_membership_list_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='InitiativeText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to='okrs.initiative')),
                ('document', landmark.search.models.FTS5Column(db_column='search_initiative_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_initiative_fts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='KeyResultText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to='okrs.keyresult')),
                ('document', landmark.search.models.FTS5Column(db_column='search_key_result_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_key_result_fts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='KPIText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to='kpis.kpi')),
                ('document', landmark.search.models.FTS5Column(db_column='search_kpi_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_kpi_fts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='ObjectiveText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to='okrs.objective')),
                ('document', landmark.search.models.FTS5Column(db_column='search_objective_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_objective_fts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='PersonText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('document', landmark.search.models.FTS5Column(db_column='search_person_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_person_fts',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='TeamText',
            fields=[
                ('row', models.OneToOneField(db_column='rowid', db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_text', serialize=False, to='orgs.team')),
                ('document', landmark.search.models.FTS5Column(db_column='search_team_fts')),
                ('rank', models.FloatField()),
            ],
            options={
                'db_table': 'search_team_fts',
                'managed': False,
            },
        ),
        migrations.RunPython(index.install, index.uninstall, elidable=False),
    ]
