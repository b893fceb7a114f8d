"""Connectors through the API: set (problem+json with field errors when invalid),
read (secrets masked), test (nothing saved), run now, run history, remove."""

import pytest

from landmark.api.tests.conftest import ApiClient, token_for
from landmark.connectors.models import Connector, ConnectorRun
from landmark.kpis.models import DataPoint

pytestmark = pytest.mark.django_db(transaction=True)


def test_connector_through_the_api(kpi, alice, bob, pg_source, allow_loopback):
    api = ApiClient(token_for(alice))
    path = f"/api/v1/kpis/{kpi.pk}/connector"
    assert api.send("GET", path).status_code == 404
    secret_url = pg_source.replace("postgres@", "postgres:hunter2-secret@")
    bad = api.send(
        "PUT",
        path,
        {"kind": "sql", "database_url": "ftp://nope", "schedule": "cron", "cron": "x"},
    )
    assert bad.status_code == 422
    assert bad["Content-Type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert fields["query"] == "This field is required."
    assert "must start with postgresql://" in fields["database_url"]
    assert "cron" in fields
    assert not Connector.objects.exists()

    body = {
        "kind": "sql",
        "database_url": secret_url,
        "query": "SELECT day, n FROM signups ORDER BY day",
        "schedule": "weekly",
        "at_time": "07:30",
        "weekday": 2,
    }
    saved = api.send("PUT", path, body)
    assert saved.status_code == 200, saved.content
    out = saved.json()
    assert out["database_url"].startswith("postgresql://postgres:••••@127.0.0.1")
    assert "hunter2" not in saved.content.decode()
    assert (out["schedule"], out["at_time"], out["weekday"]) == (
        "weekly",
        "07:30:00",
        2,
    )

    tested = api.send("POST", f"{path}/test").json()
    assert tested["ok"] and tested["rows_read"] == 5 and tested["created"] == 5
    assert not DataPoint.objects.filter(kpi=kpi).exists()

    ran = api.send("POST", f"{path}/run")
    assert ran.status_code == 202
    assert (ran.json()["created"], ran.json()["error"]) == (5, "")
    runs = api.send("GET", f"{path}/runs").json()
    assert [r["created"] for r in runs] == [5]

    # A member who does not own the KPI may not.
    assert ApiClient(token_for(bob)).send("GET", path).status_code == 403
    assert api.send("DELETE", path).status_code == 204
    assert not Connector.objects.exists() and not ConnectorRun.objects.exists()
    assert DataPoint.objects.filter(kpi=kpi).count() == 5
