"""Check-ins imported from history (okrs.models.CheckIn.Source.IMPORT), and
milestones without start or target values: a milestone is done or not done, and
validate_key_result_fields now refuses them, so values an earlier version let in are
emptied (a milestone's progress never read them)."""

from django.db import migrations, models


def empty_milestone_values(apps, schema_editor):
    KeyResult = apps.get_model("okrs", "KeyResult")
    KeyResult.objects.filter(kind="milestone").exclude(
        start__isnull=True, target__isnull=True
    ).update(start=None, target=None)


class Migration(migrations.Migration):

    dependencies = [
        ('okrs', '0011_keyresult_description'),
    ]

    operations = [
        migrations.AlterField(
            model_name='checkin',
            name='source',
            field=models.CharField(choices=[('person', "A person's check-in"), ('kpi', 'From the KPI it tracks'), ('import', 'Imported from history')], default='person', max_length=8),
        ),
        migrations.AlterField(
            model_name='historicalcheckin',
            name='source',
            field=models.CharField(choices=[('person', "A person's check-in"), ('kpi', 'From the KPI it tracks'), ('import', 'Imported from history')], default='person', max_length=8),
        ),
        migrations.RunPython(empty_milestone_values, migrations.RunPython.noop),
    ]
