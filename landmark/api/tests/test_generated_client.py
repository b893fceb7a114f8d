"""A client generated from the schema just works: openapi-python-client generates
one (offline, into a temporary folder), and the main flows run through it against
the real app served by Django's live server: a KPI and a key result made with only
their required fields (decimals as the schema says, sent as the generator sends
them), an objective, a check-in, a batch of values, lists with the numbers the web
shows, a PATCH with If-Match, and the problems it answers."""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.utils import timezone

from landmark.api.management.commands.api_schema import schema_text
from landmark.api.tests.conftest import token_for

PACKAGE = "landmark_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from the schema the app serves."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(schema_text(), encoding="utf-8")
    # No formatting afterwards (the generator would run ruff from PATH).
    config = {"post_hooks": [], "package_name_override": PACKAGE}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    command = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(  # noqa: S603  # our own venv's generator, our own schema
        [
            str(command),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
            "--config",
            "config.json",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The one warning: text/csv bodies (the batch's other format) are not generated.
    warnings = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith("WARNING") or "Unsupported" in line
    ]
    assert warnings == [
        "WARNING parsing POST /api/v1/kpis/points/batch within kpis.",
        "Unsupported content type text/csv",
    ], result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


class Operations:
    """The operations of one tag: `okrs.create_objective` is the module
    landmark_generated_client.api.okrs.create_objective."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __getattr__(self, name: str) -> Any:
        return module(f"api.{self.tag}.{name}")


@pytest.mark.django_db(transaction=True)
def test_the_main_flows_run_through_a_generated_client(
    generated, live_server, alice, org, period, settings
):
    settings.API_RATE_LIMIT = 10_000
    models = module("models")
    kpis, okrs = Operations("kpis"), Operations("okrs")
    client = generated.AuthenticatedClient(
        base_url=live_server.url,
        token=token_for(alice),
        raise_on_unexpected_status=True,
    )

    # Only the required fields: the defaults (tolerance "0.1", weight "1") are sent
    # as the schema types them, and accepted.
    kpi = kpis.create_kpi.sync_detailed(client=client, body=models.KPIIn(name="Churn"))
    assert kpi.status_code == 201, kpi.content
    assert isinstance(kpi.parsed, models.KPIOut)
    assert kpi.parsed.tolerance == "0.1"
    assert kpi.headers["Location"] == f"/api/v1/kpis/{kpi.parsed.id}"
    # A decimal typed as a number by the caller is read exactly.
    changed = kpis.update_kpi.sync(
        client=client,
        pk=kpi.parsed.id,
        body=models.KPIPatch(
            target_kind=models.KPIPatchTargetKindType0.AT_MOST,
            target_high=2.5,
        ),
    )
    assert isinstance(changed, models.KPIOut)
    assert (changed.target_high, changed.health) == ("2.5", models.KPIOutHealth.NO_DATA)

    objective = okrs.create_objective.sync(
        client=client,
        body=models.ObjectiveIn(
            title="Keep customers",
            period=period.pk,
            level=models.ObjectiveInLevel.COMPANY,
            kpis=[kpi.parsed.id],
        ),
    )
    assert isinstance(objective, models.ObjectiveOut)
    assert objective.progress is None  # no key results yet
    key_result = okrs.create_key_result.sync(
        client=client,
        pk=objective.id,
        body=models.KeyResultIn(title="Churn down", start="5", target=3),
    )
    assert isinstance(key_result, models.KeyResultOut)
    assert (key_result.weight, key_result.stale) == ("1", False)
    assert isinstance(key_result.pace, models.KeyResultOutPace)
    checkin = okrs.create_checkin.sync(
        client=client,
        pk=key_result.id,
        body=models.CheckInIn(value="4", confidence=7),
    )
    assert isinstance(checkin, models.CheckInOut)

    batch = kpis.points_batch.sync_detailed(
        client=client,
        body=models.PointsBatchJsonBody(
            points=[
                models.PointsBatchJsonBodyPointsItemType0.from_dict(
                    {
                        "kpi": kpi.parsed.id,
                        "time": (timezone.now() - timedelta(hours=h)).isoformat(),
                        "value": value,
                    }
                )
                for h, value in ((2, "4.5"), (1, 3.5))
            ]
        ),
        idempotency_key="generated-client-1",
    )
    assert batch.status_code == 201, batch.content

    listed = okrs.list_objectives.sync(client=client)
    assert isinstance(listed, models.ObjectivePage)
    (read,) = listed.items
    assert read.progress == 0.5
    assert read.owner_status == models.ObjectiveOutOwnerStatusType0.ON_TRACK
    assert read.owner_confidence == 7
    assert read.kpi_ids == [kpi.parsed.id]
    unhealthy = kpis.list_kpis.sync(
        client=client, health=models.ListKpisHealthType0.UNHEALTHY
    )
    assert [k.name for k in unhealthy.items] == ["Churn"]
    assert unhealthy.items[0].current_value is not None

    # A PATCH with the ETag read: applied once, refused (412) with the old one.
    read_one = okrs.get_objective.sync_detailed(client=client, pk=objective.id)
    etag = read_one.headers["ETag"]
    renamed = okrs.update_objective.sync_detailed(
        client=client,
        pk=objective.id,
        body=models.ObjectivePatch(title="Keep every customer"),
        if_match=etag,
    )
    assert renamed.status_code == 200
    stale = okrs.update_objective.sync_detailed(
        client=client,
        pk=objective.id,
        body=models.ObjectivePatch(title="Keep customers"),
        if_match=etag,
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem)

    refused = okrs.create_key_result.sync_detailed(
        client=client,
        pk=objective.id,
        body=models.KeyResultIn(title="Flat", start="1", target="1"),
    )
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.errors[0].field == "target"
