"""The connector settings page: who may open it, Test connection (nothing saved),
Run now, errors next to their field, secrets never shown back."""

from decimal import Decimal

import pytest

from landmark.api.tests.conftest import ApiClient, token_for
from landmark.conftest import login
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.tests.conftest import days_before
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint
from landmark.lib.tests.loopback import send

pytestmark = pytest.mark.django_db(transaction=True)


def form(pg_url: str, **changes: str) -> dict[str, str]:
    data = {
        "kind": "sql",
        "database_url": pg_url,
        "query": "SELECT day, n FROM signups ORDER BY day",
        "schedule": "daily",
        "at_time": "06:00",
        "weekday": "0",
        "enabled": "on",
    }
    data.update(changes)
    return data


def with_password(url: str) -> str:
    return url.replace("postgres@", "postgres:hunter2-secret@")


def test_settings_test_connection_save_and_run_now(
    kpi, alice, pg_source, allow_loopback
):
    client = login(alice)
    url = f"/kpis/{kpi.pk}/connector/"
    assert "Test connection" in client.get(url).content.decode()
    secret_url = with_password(pg_source)  # trust auth: the password is not checked
    tested = client.post(url + "test/", form(secret_url)).content.decode()
    assert "5 rows read. Nothing was saved." in tested
    assert "Saving would create 5" in tested
    assert "unhealthy" in tested and "healthy" in tested
    assert not Connector.objects.exists() and not DataPoint.objects.exists()
    assert "hunter2-secret" not in tested
    saved = client.post(url, form(secret_url))
    assert saved.status_code == 302
    page = client.get(url).content.decode()
    assert "hunter2-secret" not in page
    assert "postgres:••••@127.0.0.1:5432" in page
    # Saving again without the secret keeps it; Run now imports.
    assert (
        client.post(url, form("", query="SELECT day, n FROM signups")).status_code
        == 302
    )
    client.post(url + "run/")
    run = ConnectorRun.objects.get()
    assert (run.created, run.error) == (5, "")
    assert "hunter2-secret" not in run.error
    history = client.get(url).content.decode()
    assert "Run now" in history and "<td>5</td>" in history
    kpi_page = client.get(f"/kpis/{kpi.pk}/").content.decode()
    assert f'href="/kpis/{kpi.pk}/connector/"' in kpi_page
    assert "Connector failing" not in kpi_page


def test_errors_are_shown_next_to_their_field_and_nothing_is_saved(
    kpi, alice, allow_loopback
):
    client = login(alice)
    response = client.post(
        f"/kpis/{kpi.pk}/connector/",
        form("ftp://x/y", query="", schedule="cron", cron="99 * * * *"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The database URL must start with postgresql://" in page
    assert "This field is required." in page
    assert "is not a valid cron expression" in page
    assert not Connector.objects.exists()


def test_test_connection_shows_the_exact_error(kpi, alice, pg_source, allow_loopback):
    client = login(alice)
    page = client.post(
        f"/kpis/{kpi.pk}/connector/test/", form(pg_source, query="SELECT x FROM nope")
    ).content.decode()
    assert "relation &quot;nope&quot; does not exist" in page


def test_the_kpis_owner_may_configure_other_members_may_not(org, alice, bob):
    owned = kpi_actions.create_kpi(org=org, name="Bob's", owner=bob)
    others = kpi_actions.create_kpi(
        org=org, name="Alice's", owner=alice, target_low=Decimal(1)
    )
    client = login(bob)
    assert client.get(f"/kpis/{owned.pk}/connector/").status_code == 200
    assert client.get(f"/kpis/{others.pk}/connector/").status_code == 403
    page = client.get(f"/kpis/{others.pk}/").content.decode()
    assert "/connector/" not in page
    assert KPI.objects.count() == 2


def test_a_source_url_is_a_secret_on_the_page_in_the_api_and_in_run_errors(
    kpi, alice, web, allow_loopback
):
    """A published sheet's URL is its key and an API URL often carries a token:
    stored encrypted, shown back as scheme and host, never in a run's error."""
    sheet = "/sheets/d/e/2PACX-capability-key/pub?output=csv&token=t0ken-in-url"
    web.routes[sheet] = lambda h: send(
        h, f"week,signups\n{days_before(2)},40\n".encode()
    )
    client = login(alice)
    url = f"/kpis/{kpi.pk}/connector/"
    csv_form = form(
        "",
        kind="csv_url",
        url=web.url("127.0.0.1", sheet),
        time_column="week",
        value_column="signups",
    )
    assert client.post(url, csv_form).status_code == 302
    connector = Connector.objects.get()
    assert "2PACX" not in str(connector.settings)
    assert connector.secret is not None and "2PACX" not in connector.secret.token
    page = client.get(url).content.decode()
    assert "2PACX" not in page and "t0ken-in-url" not in page
    assert f"URL: http://127.0.0.1:{web.port}/••••" in page
    api = ApiClient(token_for(alice)).send("GET", f"/api/v1/kpis/{kpi.pk}/connector")
    assert api.json()["url"] == f"http://127.0.0.1:{web.port}/••••"
    assert "2PACX" not in api.content.decode()

    # Saved again without the URL (a blank field keeps it), it still runs.
    csv_form["url"] = ""
    assert client.post(url, csv_form).status_code == 302
    client.post(url + "run/")
    assert ConnectorRun.objects.get().created == 1

    # A source that is down: the error names the host, never the path or the token.
    gone = "http://127.0.0.1:9/sheets/d/e/2PACX-capability-key/pub?token=t0ken-in-url"
    csv_form["url"] = gone
    assert client.post(url, csv_form).status_code == 302
    client.post(url + "run/")
    failed = ConnectorRun.objects.exclude(error="").get()
    assert "could not" in failed.error.lower() or "failed" in failed.error.lower()
    assert "2PACX" not in failed.error and "t0ken-in-url" not in failed.error
    assert "2PACX" not in client.get(url).content.decode()
