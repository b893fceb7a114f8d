"""A KPI's connector: its settings, Test connection (nothing saved), Run now and the
run history. Admins and the KPI's owner only (access.get_kpi_for_connector)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from landmark.connectors import actions, schedule
from landmark.connectors.access import connector_of, get_kpi_for_connector
from landmark.connectors.actions import ConnectorInvalid, masked_secrets
from landmark.connectors.forms import ConnectorForm, initial_of
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.tasks import execute_run
from landmark.kpis.models import KPI
from landmark.orgs.access import member_required, membership_of

RUNS_SHOWN = 30


def _page(
    request: HttpRequest,
    kpi: KPI,
    connector: Connector | None,
    form: ConnectorForm,
    preview: actions.Preview | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "kpi": kpi,
        "connector": connector,
        "form": form,
        "preview": preview,
        "secrets": masked_secrets(connector),
        "runs": list(
            ConnectorRun.objects.filter(connector=connector)[:RUNS_SHOWN]
            if connector
            else []
        ),
        "failing": connector is not None and actions.is_failing(connector),
        "schedule_text": schedule.describe(
            connector.schedule, connector.at_time, connector.weekday, connector.cron
        )
        if connector
        else "",
    }
    return render(request, "connectors/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def connector_settings(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_connector(membership, pk)
    connector = connector_of(kpi)
    if request.method != "POST":
        return _page(
            request, kpi, connector, ConnectorForm(initial=initial_of(connector))
        )
    form = ConnectorForm(request.POST)
    if form.is_valid():
        try:
            actions.save_connector(kpi=kpi, membership=membership, data=form.to_input())
        except ConnectorInvalid as invalid:
            _errors_to_form(form, invalid)
        else:
            messages.success(request, "Connector saved.")
            return redirect("connector_settings", kpi.pk)
    return _page(request, kpi, connector, form, status=400)


def _errors_to_form(form: ConnectorForm, invalid: ConnectorInvalid) -> None:
    for name, message in invalid.errors.items():
        form.add_error(name if name in form.fields else None, message)


@require_POST
@member_required
def connector_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Test connection with the form as filled in; saves nothing."""
    membership = membership_of(request)
    kpi = get_kpi_for_connector(membership, pk)
    stored = connector_of(kpi)
    form = ConnectorForm(request.POST)
    if not form.is_valid():
        return _page(request, kpi, stored, form, status=400)
    data = form.to_input()
    kept = stored.secret_parts() if stored and stored.kind == data.kind else {}
    problems = actions.check_input(data, kept)
    if problems:
        _errors_to_form(form, ConnectorInvalid(problems))
        return _page(request, kpi, stored, form, status=400)
    trial = Connector(
        organization=kpi.organization, kpi=kpi, kind=data.kind, settings=data.settings
    )
    trial.set_secret_parts({**kept, **data.secrets})
    preview = actions.preview_connector(connector=trial, membership=membership)
    return _page(request, kpi, stored, form, preview=preview)


@require_POST
@member_required
def connector_run(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_connector(membership, pk)
    connector = connector_of(kpi)
    if connector is None:
        messages.error(request, "Save a connector first.")
        return redirect("connector_settings", kpi.pk)
    run = actions.start_run(connector, trigger=ConnectorRun.Trigger.MANUAL)
    if run is None:
        messages.info(request, "A run is already under way.")
    else:
        execute_run(run.pk)
        messages.success(
            request, "Run queued: its result appears in the history below."
        )
    return redirect("connector_settings", kpi.pk)
