"""Connectors as code on the web and through the API: admins export a file and
import one (preview, then confirm); problems come back by JSON path, nothing saved."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from landmark.api.tests.conftest import ApiClient, token_for
from landmark.connectors import actions, definitions
from landmark.connectors.models import Connector
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.orgs.models import Membership

pytestmark = pytest.mark.django_db

DB_SECRET = "postgresql://reporter:s3cr3t-db-pass@127.0.0.1:5432/sales"


@pytest.fixture
def signups(org, alice, monkeypatch, allow_loopback) -> KPI:
    monkeypatch.setenv("LM_S14_SALES_DB_URL", DB_SECRET)
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Signups",
        key="signups",
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal("20"),
    )
    actions.save_connector(
        kpi=kpi,
        membership=Membership.objects.get(organization=org, user=alice),
        data=actions.ConnectorInput(
            kind="sql",
            settings={"query": "SELECT day, n FROM signups"},
            secrets={"database_url": DB_SECRET},  # inline: withheld
        ),
    )
    return kpi


def new_kpi_document(**connector: object) -> dict[str, object]:
    return {
        "format": definitions.FORMAT,
        "version": 1,
        "kpis": [
            {
                "key": "churn",
                "name": "Churn",
                "unit": "%",
                "target_kind": "at_most",
                "target_high": "2.5",
                "connector": {"kind": "sql", "query": "SELECT 1", **connector}
                if connector
                else None,
            }
        ],
    }


def test_the_dashboard_offers_export_and_import_to_admins_only(
    alice_client, bob_client, signups
):
    page = alice_client.get(reverse("kpi_dashboard")).content.decode()
    assert reverse("kpi_definitions_export") in page
    assert reverse("kpi_definitions_import") in page
    page = bob_client.get(reverse("kpi_dashboard")).content.decode()
    assert reverse("kpi_definitions_export") not in page
    assert bob_client.get(reverse("kpi_definitions_export")).status_code == 403


def test_export_downloads_a_file_without_secrets(alice_client, org, signups):
    response = alice_client.get(reverse("kpi_definitions_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="{org.slug}-kpi-definitions-'
    )
    assert b"s3cr3t" not in response.content and b"reporter" not in response.content
    document = json.loads(response.content)
    assert document["kpis"][0]["key"] == "signups"
    assert document["kpis"][0]["connector"]["database_url"] is None
    assert document["withheld"][0]["path"] == "kpis[0].connector.database_url"


def test_import_previews_then_saves_on_confirm(alice_client, org, signups):
    url = reverse("kpi_definitions_import")
    text = json.dumps(new_kpi_document(database_url="${LM_S14_SALES_DB_URL}"))
    upload = SimpleUploadedFile("defs.json", text.encode(), "application/json")
    preview = alice_client.post(url, {"file": upload})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "create 1 KPI: <code>churn</code>" in page
    assert "set 1 connector" in page
    assert not KPI.objects.filter(organization=org, key="churn").exists()

    done = alice_client.post(url, {"content": text, "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == reverse("kpi_dashboard")
    churn = KPI.objects.get(organization=org, key="churn")
    assert (churn.unit, churn.target_high) == ("%", Decimal("2.5"))
    assert Connector.objects.get(kpi=churn).secret_parts() == {
        "database_url": "${LM_S14_SALES_DB_URL}"
    }


def test_import_page_shows_problems_by_path_and_saves_nothing(
    alice_client, org, signups
):
    text = json.dumps(new_kpi_document(database_url=DB_SECRET))
    response = alice_client.post(
        reverse("kpi_definitions_import"), {"content": text, "confirm": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported." in page
    assert "<code>kpis[0].connector.database_url</code>" in page
    assert "never inline" in page
    assert not KPI.objects.filter(organization=org, key="churn").exists()

    broken = alice_client.post(
        reverse("kpi_definitions_import"),
        {"file": SimpleUploadedFile("defs.json", b"{not json", "application/json")},
    )
    assert broken.status_code == 400
    assert "The file is not JSON" in broken.content.decode()

    for deep in ("[" * 100_000, '{"format": ' + "[" * 900 + "]" * 900 + "}"):
        response = alice_client.post(
            reverse("kpi_definitions_import"),
            {
                "file": SimpleUploadedFile(
                    "deep.json", deep.encode(), "application/json"
                )
            },
        )
        assert response.status_code == 400, deep[:20]


def test_api_export_and_import(alice, bob, org, other_org, charlie, signups):
    api = ApiClient(token_for(alice))
    exported = api.send("GET", "/api/v1/kpis/definitions")
    assert exported.status_code == 200
    assert b"s3cr3t" not in exported.content
    assert [k["key"] for k in exported.json()["kpis"]] == ["signups"]

    theirs = ApiClient(token_for(charlie))
    document = exported.json()
    document["kpis"][0]["connector"]["database_url"] = "${LM_S14_SALES_DB_URL}"
    preview = theirs.send("POST", "/api/v1/kpis/definitions", document)
    assert preview.status_code == 200, preview.content
    assert preview.json() == {
        "dry_run": True,
        "created": ["signups"],
        "updated": [],
        "connectors": ["signups"],
    }
    assert not KPI.objects.filter(organization=other_org).exists()
    applied = theirs.send("POST", "/api/v1/kpis/definitions?dry_run=false", document)
    assert applied.status_code == 200 and applied.json()["dry_run"] is False
    copy = KPI.objects.get(organization=other_org, key="signups")
    assert copy.target_low == Decimal("20")
    # Acme's KPI is untouched: the import wrote into Other Co only.
    assert KPI.objects.filter(organization=org).count() == 1

    document["kpis"][0]["connector"]["database_url"] = DB_SECRET
    document["kpis"][0]["owner"] = "nobody@other.test"
    refused = theirs.send("POST", "/api/v1/kpis/definitions?dry_run=false", document)
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in refused.json()["errors"]} == {
        "kpis[0].owner",
        "kpis[0].connector.database_url",
    }
    assert b"s3cr3t" not in refused.content

    denied = ApiClient(token_for(bob)).send("GET", "/api/v1/kpis/definitions")
    assert denied.status_code == 403
    assert denied["Content-Type"] == "application/problem+json"
