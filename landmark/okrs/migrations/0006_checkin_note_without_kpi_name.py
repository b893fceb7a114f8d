"""Check-ins made by a tracked KPI no longer name the KPI in their note.

They used to say “Updated from the KPI “<name>”.”, which showed a private KPI's name
to everyone who could see the key result. Rewrite those notes (and their history
rows) to the neutral note that okrs.actions.TRACKED_KPI_NOTE now writes.
"""

from django.db import migrations

OLD_PREFIX, OLD_SUFFIX = "Updated from the KPI “", "”."
NOTE = "Updated from the KPI it tracks."


def forwards(apps, schema_editor):
    for name in ("CheckIn", "HistoricalCheckIn"):
        model = apps.get_model("okrs", name)
        model.objects.filter(
            moved__startswith=OLD_PREFIX, moved__endswith=OLD_SUFFIX
        ).update(moved=NOTE)


class Migration(migrations.Migration):
    dependencies = [("okrs", "0005_history")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
