"""Check-ins from a tracked KPI say so, and no longer speak for the owner.

They used to copy the owner's last status and confidence, so a KPI's new value read
as the owner's own word. Existing ones (their note is the one kpis.actions writes)
become check-ins from the KPI without status or confidence, and each key result's
"owner says" comes back to its latest check-in by a person.
"""

from django.db import migrations, models

NOTE = "Updated from the KPI it tracks."


def forwards(apps, schema_editor):
    CheckIn = apps.get_model("okrs", "CheckIn")
    KeyResult = apps.get_model("okrs", "KeyResult")
    from_kpi = CheckIn.objects.filter(moved=NOTE, source="person")
    touched = set(from_kpi.values_list("key_result_id", flat=True))
    from_kpi.update(source="kpi", status="", confidence=None)
    apps.get_model("okrs", "HistoricalCheckIn").objects.filter(
        moved=NOTE, source="person"
    ).update(source="kpi", status="", confidence=None)
    for kr in KeyResult.objects.filter(pk__in=touched).only("pk"):
        said = (
            CheckIn.objects.filter(key_result_id=kr.pk, source="person")
            .order_by("-created_at", "-pk")
            .first()
        )
        KeyResult.objects.filter(pk=kr.pk).update(
            last_status=said.status if said else "",
            last_confidence=said.confidence if said else None,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('okrs', '0007_keyresult_start_date'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkin',
            name='source',
            field=models.CharField(choices=[('person', "A person's check-in"), ('kpi', 'From the KPI it tracks')], default='person', max_length=8),
        ),
        migrations.AddField(
            model_name='historicalcheckin',
            name='source',
            field=models.CharField(choices=[('person', "A person's check-in"), ('kpi', 'From the KPI it tracks')], default='person', max_length=8),
        ),
        migrations.AlterField(
            model_name='checkin',
            name='status',
            field=models.CharField(blank=True, choices=[('on_track', 'On track'), ('needs_attention', 'Needs attention'), ('off_track', 'Off track')], max_length=16),
        ),
        migrations.AlterField(
            model_name='historicalcheckin',
            name='status',
            field=models.CharField(blank=True, choices=[('on_track', 'On track'), ('needs_attention', 'Needs attention'), ('off_track', 'Off track')], max_length=16),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
