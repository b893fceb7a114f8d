"""The time zone moved from an organization's reminder settings to the organization
(orgs 0011, notify 0004): each organization keeps the zone it had, both ways."""

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("orgs", "0010_membership_list_index"), ("notify", "0003_kpi_alerts")]
AFTER = [
    ("orgs", "0012_organization_settings"),
    ("notify", "0004_time_zone_moves_to_organization"),
]


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_each_organization_keeps_its_time_zone_both_ways():
    try:
        apps = migrate(BEFORE)
        Organization = apps.get_model("orgs", "Organization")
        ReminderSettings = apps.get_model("notify", "ReminderSettings")
        Organization.objects.create(name="Plain", slug="plain")
        tokyo = Organization.objects.create(name="Tokyo", slug="tokyo")
        ReminderSettings.objects.create(organization=tokyo, time_zone="Asia/Tokyo")

        apps = migrate(AFTER)
        Organization = apps.get_model("orgs", "Organization")
        Historical = apps.get_model("orgs", "HistoricalOrganization")
        zones = dict(Organization.objects.values_list("slug", "time_zone"))
        assert zones == {"plain": "UTC", "tokyo": "Asia/Tokyo"}
        # The first version of each says the zone it had: a later change reads
        # "Asia/Tokyo → ...", not "UTC → ...".
        first = dict(Historical.objects.values_list("name", "time_zone"))
        assert first == {"Plain": "UTC", "Tokyo": "Asia/Tokyo"}
        Organization.objects.filter(pk=tokyo.pk).update(time_zone="Asia/Seoul")

        apps = migrate(BEFORE)
        ReminderSettings = apps.get_model("notify", "ReminderSettings")
        assert ReminderSettings.objects.get(organization_id=tokyo.pk).time_zone == (
            "Asia/Seoul"
        )
    finally:
        call_command("migrate", verbosity=0)
