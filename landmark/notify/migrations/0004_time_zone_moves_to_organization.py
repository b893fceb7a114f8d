# The time zone is the organization's (Organization.time_zone, orgs 0011): each
# organization's reminder time zone is copied there, then the column goes.

from django.db import migrations


def copy_to_organization(apps, schema_editor):
    ReminderSettings = apps.get_model("notify", "ReminderSettings")
    Organization = apps.get_model("orgs", "Organization")
    Historical = apps.get_model("orgs", "HistoricalOrganization")
    for org_id, zone in ReminderSettings.objects.values_list(
        "organization_id", "time_zone"
    ):
        Organization.objects.filter(pk=org_id).update(time_zone=zone)
        # The first version (orgs 0011) says the zone the organization had.
        Historical.objects.filter(id=org_id).update(time_zone=zone)


def copy_back(apps, schema_editor):
    ReminderSettings = apps.get_model("notify", "ReminderSettings")
    Organization = apps.get_model("orgs", "Organization")
    zones = dict(Organization.objects.values_list("pk", "time_zone"))
    for settings in ReminderSettings.objects.all():
        settings.time_zone = zones[settings.organization_id]
        settings.save(update_fields=["time_zone"])


class Migration(migrations.Migration):

    dependencies = [
        ("notify", "0003_kpi_alerts"),
        ("orgs", "0012_organization_settings"),
    ]

    operations = [
        migrations.RunPython(copy_to_organization, copy_back),
        migrations.RemoveField(
            model_name="remindersettings",
            name="time_zone",
        ),
    ]
