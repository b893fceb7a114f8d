"""A KPI's connector: its settings, Test connection (nothing saved), Run now and the
run history. Admins and the KPI's owner only (access.get_kpi_for_connector)."""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from landmark.connectors import actions, definitions, schedule
from landmark.connectors.access import connector_of, get_kpi_for_connector
from landmark.connectors.actions import ConnectorInvalid, masked_secrets
from landmark.connectors.forms import ConnectorForm, initial_of
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.tasks import execute_run
from landmark.kpis.models import KPI
from landmark.orgs.access import member_required, membership_of, require_admin

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


# Connectors as code: the KPI definitions as a JSON file (admins only)

MAX_DEFINITIONS_BYTES = 2 * 1024 * 1024


class DefinitionsForm(forms.Form):
    file = forms.FileField(label="Definitions file (.json)", required=False)
    # The confirmation posts the previewed document back; it is checked again.
    content = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        text = ""
        if upload is not None:
            if upload.size > MAX_DEFINITIONS_BYTES:
                self.add_error("file", "The file is larger than 2 MB.")
                return data
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return data
        elif data.get("content"):
            text = data["content"]
        else:
            self.add_error("file", "Choose a definitions file.")
            return data
        try:
            data["document"] = json.loads(text)
        except (ValueError, RecursionError) as error:
            self.add_error("file", f"The file is not JSON: {error}")
            return data
        data["text"] = text
        return data


@require_GET
@member_required
def definitions_export(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    org = membership.organization
    document = definitions.export_definitions(org)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{org.slug}-kpi-definitions-{day}.json"'
    )
    return response


@require_http_methods(["GET", "POST"])
@member_required
def definitions_import(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    posted = request.method == "POST"
    form = DefinitionsForm(request.POST, request.FILES) if posted else DefinitionsForm()
    result: definitions.ImportResult | None = None
    errors: list[dict[str, str]] = []
    text = ""
    if posted and form.is_valid():
        text = form.cleaned_data["text"]
        confirm = request.POST.get("confirm") == "1"
        try:
            result = definitions.import_definitions(
                membership=membership,
                document=form.cleaned_data["document"],
                dry_run=not confirm,
            )
        except definitions.DefinitionsInvalid as invalid:
            errors = invalid.errors
        else:
            if confirm:
                messages.success(
                    request,
                    f"Imported the definitions: {len(result.created)} KPIs created, "
                    f"{len(result.updated)} updated, "
                    f"{len(result.connectors)} connectors set.",
                )
                return redirect("kpi_dashboard")
    return render(
        request,
        "connectors/definitions_import.html",
        {
            "form": form,
            "result": result,
            "errors": errors,
            "text": text,
            "posted": posted and form.is_valid(),
        },
        status=400 if errors or (posted and not form.is_valid()) else 200,
    )
