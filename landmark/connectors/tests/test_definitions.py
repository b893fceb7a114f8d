"""Connectors as code: KPI definitions and their connectors exported as one JSON
document (secrets only as ${ENV} references) and imported by key, all or nothing."""

import json
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest

from landmark.conftest import join, make_sales
from landmark.connectors import actions, definitions
from landmark.connectors.models import Connector
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, KPITarget
from landmark.orgs.models import Membership, Organization, Team, User

pytestmark = pytest.mark.django_db

DB_SECRET = "postgresql://reporter:s3cr3t-db-pass@127.0.0.1:5432/sales"
INLINE_TOKEN = "Bearer inline-t0ken-value"


@pytest.fixture
def env(monkeypatch, allow_loopback):
    monkeypatch.setenv("LM_S14_SALES_DB_URL", DB_SECRET)
    monkeypatch.setenv("LM_S14_API_TOKEN", "Bearer from-the-environment")
    monkeypatch.setenv("LM_S14_TICKETS_URL", "http://127.0.0.1:9/tickets.json")


def admin_of(org: Organization, user: User) -> Membership:
    return Membership.objects.select_related("organization", "user").get(
        organization=org, user=user
    )


def define(org: Organization, alice: User) -> None:
    """Two KPIs with connectors (one secret a reference, one inline), one without."""
    sales = make_sales(org)
    admin = admin_of(org, alice)
    revenue = kpi_actions.create_kpi(
        org=org,
        name="Revenue",
        key="revenue",
        definition="Invoiced revenue, net of refunds.",
        unit="€",
        category="Finance",
        frequency=KPI.Frequency.MONTHLY,
        aggregation=KPI.Aggregation.SUM,
        target_kind=KPI.TargetKind.BETWEEN,
        target_low=Decimal("1000"),
        target_high=Decimal("2500.5"),
        tolerance=Decimal("0.05"),
        is_key=True,
        team=sales,
        owner=alice,
        visibility=KPI.Visibility.PRIVATE,
    )
    kpi_actions.set_kpi_targets(
        kpi=revenue,
        schedule=[(date(2027, 1, 1), Decimal("900"), Decimal("2000"))],
    )
    actions.save_connector(
        kpi=revenue,
        membership=admin,
        data=actions.ConnectorInput(
            kind="sql",
            settings={"query": "SELECT day, total FROM revenue"},
            secrets={"database_url": "${LM_S14_SALES_DB_URL}"},
            schedule="weekly",
            at_time=time(7, 30),
            weekday=2,
        ),
    )
    tickets = kpi_actions.create_kpi(org=org, name="Tickets", key="tickets")
    actions.save_connector(
        kpi=tickets,
        membership=admin,
        data=actions.ConnectorInput(
            kind="http_json",
            settings={"expression": "rows"},
            secrets={
                "url": "${LM_S14_TICKETS_URL}",
                "headers": {
                    "Authorization": INLINE_TOKEN,
                    "X-Api-Key": "${LM_S14_API_TOKEN}",
                },
            },
            enabled=False,
        ),
    )
    company = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    kpi_actions.create_kpi(
        org=org, name="NPS", key="nps", indicator="lead", team=company
    )
    kpi_actions.create_kpi(org=org, name="Keyless")


def test_export_writes_references_and_withholds_inline_secrets(org, alice, env):
    define(org, alice)
    document = definitions.export_definitions(org)
    raw = json.dumps(document)
    assert "s3cr3t" not in raw and "inline-t0ken" not in raw
    assert "from-the-environment" not in raw
    assert (document["format"], document["version"]) == (definitions.FORMAT, 1)
    by_key = {k["key"]: k for k in document["kpis"]}
    assert sorted(by_key) == ["nps", "revenue", "tickets"]
    assert document["skipped"] == [{"name": "Keyless", "reason": "The KPI has no key."}]
    revenue = by_key["revenue"]
    assert (revenue["team"], revenue["owner"], revenue["unit"]) == (
        "Sales",
        "alice@acme.test",
        "€",
    )
    assert (revenue["target_low"], revenue["target_high"], revenue["tolerance"]) == (
        "1000",
        "2500.5",
        "0.05",
    )
    assert revenue["visibility"] == "private" and revenue["is_key"] is True
    assert revenue["targets"] == [
        {"window_start": "2027-01-01", "low": "900", "high": "2000"}
    ]
    assert revenue["connector"] == {
        "kind": "sql",
        "query": "SELECT day, total FROM revenue",
        "database_url": "${LM_S14_SALES_DB_URL}",
        "schedule": "weekly",
        "at_time": "07:30",
        "weekday": 2,
        "cron": "",
        "enabled": True,
    }
    tickets = by_key["tickets"]
    assert tickets["connector"]["url"] == "${LM_S14_TICKETS_URL}"
    assert tickets["connector"]["headers"] == {
        "Authorization": None,
        "X-Api-Key": "${LM_S14_API_TOKEN}",
    }
    index = document["kpis"].index(tickets)
    assert document["withheld"] == [
        {
            "path": f"kpis[{index}].connector.headers.Authorization",
            "reason": "Stored inline, not as an ${ENV_VAR} reference.",
        }
    ]
    assert by_key["nps"]["connector"] is None
    assert by_key["nps"]["team"] == {"company": True}
    assert by_key["tickets"]["team"] is None


def test_inline_database_url_is_withheld(org, alice, env):
    kpi = kpi_actions.create_kpi(org=org, name="Signups", key="signups")
    actions.save_connector(
        kpi=kpi,
        membership=admin_of(org, alice),
        data=actions.ConnectorInput(
            kind="sql",
            settings={"query": "SELECT 1"},
            secrets={"database_url": DB_SECRET},
        ),
    )
    document = definitions.export_definitions(org)
    assert "s3cr3t" not in json.dumps(document)
    assert document["kpis"][0]["connector"]["database_url"] is None
    assert document["withheld"][0]["path"] == "kpis[0].connector.database_url"


def test_an_inline_source_url_is_withheld_and_an_import_wants_a_reference(
    org, alice, env
):
    kpi = kpi_actions.create_kpi(org=org, name="Signups", key="signups")
    sheet = "http://127.0.0.1:9/sheets/d/e/2PACX-capability-key/pub?output=csv"
    actions.save_connector(
        kpi=kpi,
        membership=admin_of(org, alice),
        data=actions.ConnectorInput(
            kind="csv_url",
            settings={"time_column": "week", "value_column": "signups"},
            secrets={"url": sheet},
        ),
    )
    document = definitions.export_definitions(org)
    assert "2PACX-capability-key" not in json.dumps(document)
    assert document["kpis"][0]["connector"]["url"] is None
    assert document["withheld"] == [
        {
            "path": "kpis[0].connector.url",
            "reason": "Stored inline, not as an ${ENV_VAR} reference.",
        }
    ]
    # Withheld (null) keeps the stored URL when the same organization imports it back.
    again = definitions.import_definitions(
        membership=admin_of(org, alice), document=document, dry_run=False
    )
    assert again.connectors == ["signups"]
    assert Connector.objects.get(kpi=kpi).secret_parts()["url"] == sheet
    # Written inline, the URL is refused and nothing changes.
    document["kpis"][0]["connector"]["url"] = "http://127.0.0.1:9/other.csv"
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice), document=document, dry_run=False
        )
    assert [e["path"] for e in refused.value.errors] == ["kpis[0].connector.url"]
    assert Connector.objects.get(kpi=kpi).secret_parts()["url"] == sheet


def test_round_trip_into_another_organization(org, alice, other_org, charlie, env):
    define(org, alice)
    document = definitions.export_definitions(org)
    make_sales(other_org)
    join(other_org, alice, Membership.Role.MEMBER)
    target = admin_of(other_org, charlie)

    # The withheld header must be written as a reference first: nothing is saved.
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=target, document=document, dry_run=False
        )
    index = next(i for i, k in enumerate(document["kpis"]) if k["key"] == "tickets")
    assert [e["path"] for e in refused.value.errors] == [
        f"kpis[{index}].connector.headers.Authorization"
    ]
    assert not KPI.objects.filter(organization=other_org).exists()

    document["kpis"][index]["connector"]["headers"]["Authorization"] = (
        "${LM_S14_API_TOKEN}"
    )
    preview = definitions.import_definitions(membership=target, document=document)
    assert preview.dry_run and sorted(preview.created) == ["nps", "revenue", "tickets"]
    assert preview.updated == []
    assert not KPI.objects.filter(organization=other_org).exists()
    assert not Connector.objects.filter(organization=other_org).exists()

    done = definitions.import_definitions(
        membership=target, document=document, dry_run=False
    )
    assert sorted(done.created) == ["nps", "revenue", "tickets"]
    assert sorted(done.connectors) == ["revenue", "tickets"]
    revenue = KPI.objects.get(organization=other_org, key="revenue")
    assert revenue.team is not None and revenue.team.organization == other_org
    assert revenue.owner == alice
    assert (revenue.target_kind, revenue.target_low, revenue.target_high) == (
        "between",
        Decimal("1000"),
        Decimal("2500.5"),
    )
    assert (revenue.visibility, revenue.is_key, revenue.unit) == ("private", True, "€")
    assert list(
        KPITarget.objects.filter(kpi=revenue).values_list("window_start", "low", "high")
    ) == [(date(2027, 1, 1), Decimal("900"), Decimal("2000"))]
    connector = Connector.objects.get(kpi=revenue)
    assert connector.organization == other_org
    assert connector.secret_parts() == {"database_url": "${LM_S14_SALES_DB_URL}"}
    assert (connector.schedule, connector.at_time, connector.weekday) == (
        "weekly",
        time(7, 30),
        2,
    )
    assert connector.run_as == charlie
    nps = KPI.objects.select_related("team").get(organization=other_org, key="nps")
    assert nps.team is not None and nps.team.kind == Team.Kind.COMPANY
    assert nps.team.organization == other_org
    tickets = Connector.objects.get(kpi__organization=other_org, kpi__key="tickets")
    assert tickets.enabled is False
    assert tickets.secret_parts()["headers"] == {
        "Authorization": "${LM_S14_API_TOKEN}",
        "X-Api-Key": "${LM_S14_API_TOKEN}",
    }
    # The export of the copy is the same document, but for who made it and when.
    again = definitions.export_definitions(other_org)
    assert again["kpis"] == document["kpis"]
    assert again["withheld"] == []

    # Importing again updates by key: nothing is created twice.
    document["kpis"][0]["name"] = "Renamed"
    second = definitions.import_definitions(
        membership=target, document=document, dry_run=False
    )
    assert second.created == [] and len(second.updated) == 3
    assert KPI.objects.filter(organization=other_org).count() == 3
    assert (
        KPI.objects.get(organization=other_org, key=document["kpis"][0]["key"]).name
        == "Renamed"
    )


def test_withheld_secret_keeps_the_stored_one_on_update(org, alice, env):
    define(org, alice)
    document = definitions.export_definitions(org)
    definitions.import_definitions(
        membership=admin_of(org, alice), document=document, dry_run=False
    )
    tickets = Connector.objects.get(kpi__organization=org, kpi__key="tickets")
    headers = tickets.secret_parts()["headers"]
    assert isinstance(headers, dict) and headers["Authorization"] == INLINE_TOKEN


def item(**fields: Any) -> dict[str, Any]:
    return {"key": "signups", "name": "Signups", **fields}


def doc(*items: dict[str, Any]) -> dict[str, Any]:
    return {"format": definitions.FORMAT, "version": 1, "kpis": list(items)}


def test_inline_secret_in_the_file_is_refused(org, alice, env):
    connector = {"kind": "sql", "query": "SELECT 1", "database_url": DB_SECRET}
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice),
            document=doc(item(connector=connector)),
            dry_run=False,
        )
    assert refused.value.errors == [
        {
            "path": "kpis[0].connector.database_url",
            "message": "A secret is written as an environment variable reference, "
            "${SALES_DB_URL}, never inline.",
        }
    ]
    headers = {
        "kind": "csv_url",
        "url": "${LM_S14_TICKETS_URL}",
        "time_column": "d",
        "value_column": "v",
        "headers": {"Authorization": "Bearer ${X}"},
    }
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice), document=doc(item(connector=headers))
        )
    assert [e["path"] for e in refused.value.errors] == [
        "kpis[0].connector.headers.Authorization"
    ]
    assert not KPI.objects.filter(organization=org).exists()


def test_a_bad_item_saves_nothing(org, alice, env):
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice),
            document=doc(
                item(),
                item(key="churn", team="Nowhere", owner="nobody@acme.test"),
                item(key="nps", frequency="hourly"),
                item(key="arr", target_kind="at_least"),
                item(key="signups"),
            ),
            dry_run=False,
        )
    errors = {e["path"]: e["message"] for e in refused.value.errors}
    assert errors == {
        "kpis[1].team": "No team is named “Nowhere” in this organization.",
        "kpis[1].owner": "No active member of this organization has the email "
        "nobody@acme.test.",
        "kpis[2].frequency": "Choose one of: daily, weekly, monthly, quarterly.",
        "kpis[3].target_low": "Enter the lowest healthy value.",
        "kpis[4].key": "The key “signups” appears twice in the document.",
    }
    assert not KPI.objects.filter(organization=org).exists()


def test_a_missing_environment_variable_is_named(org, alice, allow_loopback):
    connector = {"kind": "sql", "query": "SELECT 1", "database_url": "${LM_S14_UNSET}"}
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice), document=doc(item(connector=connector))
        )
    assert refused.value.errors == [
        {
            "path": "kpis[0].connector.database_url",
            "message": "The environment variable LM_S14_UNSET is not set on this server.",
        }
    ]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], ""),
        ({"format": "other", "version": 1, "kpis": []}, "format"),
        ({"format": definitions.FORMAT, "version": 2, "kpis": []}, "version"),
        ({"format": definitions.FORMAT, "version": 1, "kpis": {}}, "kpis"),
    ],
)
def test_not_a_definitions_document(org, alice, document, path):
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice), document=document
        )
    assert refused.value.errors[0]["path"] == path


def test_another_organizations_kpis_are_never_exported(org, alice, other_org, env):
    kpi_actions.create_kpi(org=other_org, name="Their secret KPI", key="theirs")
    kpi_actions.create_kpi(org=org, name="Ours", key="ours")
    document = definitions.export_definitions(org)
    assert [k["key"] for k in document["kpis"]] == ["ours"]
    assert "Their secret KPI" not in json.dumps(document)


def test_fields_left_out_keep_their_stored_values(org, alice, env):
    define(org, alice)
    admin = admin_of(org, alice)
    done = definitions.import_definitions(
        membership=admin,
        document=doc({"key": "revenue", "name": "Revenue (net)"}),
        dry_run=False,
    )
    assert done.updated == ["revenue"] and done.connectors == []
    revenue = KPI.objects.select_related("team").get(organization=org, key="revenue")
    assert revenue.name == "Revenue (net)"
    assert revenue.definition == "Invoiced revenue, net of refunds."
    assert (revenue.team and revenue.team.name, revenue.owner) == ("Sales", alice)
    assert revenue.target_high == Decimal("2500.5")
    assert KPITarget.objects.filter(kpi=revenue).count() == 1
    assert Connector.objects.filter(kpi=revenue).exists()

    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin, document=doc({"key": "revenue", "team": None})
        )
    assert refused.value.errors == [
        {"path": "kpis[0].name", "message": "Every KPI needs its name."}
    ]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name": "Sign\x00ups"}, ""),
        ({"definition": "\ud800"}, ""),
        ({"connector": {"kind": "sql", "query": "SELECT \x00"}}, ""),
        ({"target_kind": "at_least", "target_low": "1e999999"}, "kpis[0].target_low"),
        ({"target_kind": "at_least", "target_low": 1e300}, "kpis[0].target_low"),
        ({"tolerance": "NaN"}, "kpis[0].tolerance"),
        ({"tolerance": 7}, "kpis[0].tolerance"),
        ({"key": "x" * 500}, "kpis[0].key"),
        ({"name": "n" * 500}, "kpis[0].name"),
        (
            {
                "target_kind": "at_least",
                "target_low": "1",
                "targets": [{"window_start": "9999-12-01", "low": "2"}],
            },
            "kpis[0].targets[0]",
        ),
        ({"team": ["Sales"]}, "kpis[0].team"),
        (
            {
                "connector": {
                    "kind": "sql",
                    "query": "SELECT 1",
                    "weekday": 99,
                    "database_url": "${LM_S14_SALES_DB_URL}",
                }
            },
            "kpis[0].connector.weekday",
        ),
    ],
)
def test_extreme_values_are_problems_not_errors(org, alice, env, fields, path):
    with pytest.raises(definitions.DefinitionsInvalid) as refused:
        definitions.import_definitions(
            membership=admin_of(org, alice), document=doc(item(**fields)), dry_run=False
        )
    assert path in [e["path"] for e in refused.value.errors], refused.value.errors
    assert not KPI.objects.filter(organization=org).exists()


def test_an_owner_outside_the_organization_is_refused_as_an_unknown_one(
    org, alice, bob, other_org, charlie, env
):
    """An admin cannot make someone of another organization own a KPI by naming their
    email in a file, and learns nothing of whether that account exists: a member of
    Acme and an address no one has get the same answer, and nothing is saved."""
    target = admin_of(other_org, charlie)
    answers = []
    for email in (bob.email, "nobody-at-all@acme.test"):
        with pytest.raises(definitions.DefinitionsInvalid) as refused:
            definitions.import_definitions(
                membership=target,
                document=doc(item(key="signups", owner=email)),
                dry_run=False,
            )
        [error] = refused.value.errors
        assert error["path"] == "kpis[0].owner"
        answers.append(error["message"].replace(email, "<email>"))
    assert answers[0] == answers[1]
    assert "No active member of this organization" in answers[0]
    assert not KPI.objects.filter(organization=other_org).exists()


def test_the_migration_moves_a_stored_url_into_the_secret(org, alice, env):
    """Connectors saved before URLs were secret had the URL in the clear settings."""
    from importlib import import_module

    from django.apps import apps

    moving = import_module("landmark.connectors.migrations.0002_url_is_secret")
    kpi = kpi_actions.create_kpi(org=org, name="Tickets", key="tickets")
    old = Connector.objects.create(
        organization=org,
        kpi=kpi,
        kind="http_json",
        settings={"url": "http://127.0.0.1:9/t?key=old-t0ken", "expression": "n"},
    )
    old.set_secret_parts({"headers": {"Authorization": "Bearer x"}})
    old.save()
    moving.seal_urls(apps, None)
    old.refresh_from_db()
    assert old.settings == {"expression": "n"}
    assert old.secret_parts() == {
        "headers": {"Authorization": "Bearer x"},
        "url": "http://127.0.0.1:9/t?key=old-t0ken",
    }
    moving.unseal_urls(apps, None)
    old.refresh_from_db()
    assert old.settings["url"] == "http://127.0.0.1:9/t?key=old-t0ken"
    assert old.secret_parts() == {"headers": {"Authorization": "Bearer x"}}
