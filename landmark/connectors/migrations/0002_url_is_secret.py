"""An HTTP JSON or CSV connector's URL moves from the clear settings into the
encrypted secret: a URL often carries a token (`?api_key=`) or is itself the key
(a published spreadsheet)."""

import json

from django.db import migrations

from landmark.lib.encryption import Sealed


def seal_urls(apps, schema_editor):
    Connector = apps.get_model("connectors", "Connector")
    for connector in Connector.objects.exclude(kind="sql"):
        url = connector.settings.pop("url", None)
        if not url:
            continue
        parts = json.loads(connector.secret.reveal()) if connector.secret else {}
        parts["url"] = url
        connector.secret = Sealed.seal(json.dumps(parts))
        connector.save(update_fields=["settings", "secret"])


def unseal_urls(apps, schema_editor):
    Connector = apps.get_model("connectors", "Connector")
    for connector in Connector.objects.exclude(kind="sql"):
        if connector.secret is None:
            continue
        parts = json.loads(connector.secret.reveal())
        url = parts.pop("url", None)
        if not url:
            continue
        connector.settings["url"] = url
        connector.secret = Sealed.seal(json.dumps(parts)) if parts else None
        connector.save(update_fields=["settings", "secret"])


class Migration(migrations.Migration):
    dependencies = [("connectors", "0001_connectors_and_runs")]

    operations = [migrations.RunPython(seal_urls, unseal_urls)]
