"""Connectors as code: an organization's KPI definitions and their connectors as one
versioned JSON document, exported and imported (docs/connectors.md).

Secrets are written only as environment variable references, `${SALES_DB_URL}`: a
secret stored inline is withheld from the export (its value is null and the
document's `withheld` list names it), and an import refuses any secret that is not
exactly one reference. An import matches KPIs by `key` (create or update) and is all
or nothing: every problem comes back with its JSON path and nothing is saved."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from landmark.connectors.actions import (
    SETTINGS_OF_KIND,
    ConnectorInput,
    ConnectorInvalid,
    save_connector,
)
from landmark.connectors.models import Connector
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.lib import bounds
from landmark.lib.encryption import Unreadable
from landmark.lib.values import ValueProblem, parse_value
from landmark.orgs.models import Membership, Organization, Team

FORMAT = "landmark-kpi-definitions"
VERSION = 1
MAX_KPIS = 2000
# A secret in the document is exactly one reference: `${NAME}`, nothing around it.
WHOLE_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")

TEXT_FIELDS = ("name", "definition", "unit", "category")
CHOICES: dict[str, list[str]] = {
    "indicator": list(KPI.Indicator.values),
    "frequency": list(KPI.Frequency.values),
    "aggregation": list(KPI.Aggregation.values),
    "target_kind": list(KPI.TargetKind.values),
    "visibility": list(KPI.Visibility.values),
}
BOOL_FIELDS = ("is_key", "archived")


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _kpi_rows(org: Organization) -> list[KPI]:
    return list(
        KPI.objects.for_org(org)
        .select_related("team", "owner")
        .prefetch_related("targets")
        .order_by("key", "pk")
    )


def export_definitions(
    org: Organization, *, now: datetime | None = None
) -> dict[str, Any]:
    """The organization's KPIs (archived ones too) and their connectors. KPIs without
    a key cannot be matched on import: they are listed in `skipped`."""
    now = now or timezone.now()
    connectors = {c.kpi_id: c for c in Connector.objects.filter(organization=org)}
    kpis: list[dict[str, Any]] = []
    withheld: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    for kpi in _kpi_rows(org):
        if not kpi.key:
            skipped.append({"name": kpi.name, "reason": "The KPI has no key."})
            continue
        item: dict[str, Any] = {
            "key": kpi.key,
            **{name: getattr(kpi, name) for name in TEXT_FIELDS},
            **{name: getattr(kpi, name) for name in CHOICES},
            "target_low": _number(kpi.target_low),
            "target_high": _number(kpi.target_high),
            "tolerance": _number(kpi.tolerance),
            "is_key": kpi.is_key,
            "archived": kpi.archived,
            "team": _team_out(kpi.team),
            "owner": kpi.owner.email if kpi.owner else None,
            "targets": [
                {
                    "window_start": t.window_start.isoformat(),
                    "low": _number(t.low),
                    "high": _number(t.high),
                }
                for t in kpi.targets.all()
            ],
            "connector": None,
        }
        connector = connectors.get(kpi.pk)
        if connector is not None:
            path = f"kpis[{len(kpis)}].connector"
            item["connector"] = _connector_out(connector, path, withheld)
        kpis.append(item)
    return {
        "format": FORMAT,
        "version": VERSION,
        "organization": org.slug,
        "exported_at": now.isoformat(),
        "kpis": kpis,
        "withheld": withheld,
        "skipped": skipped,
    }


def _team_out(team: Team | None) -> str | dict[str, bool] | None:
    """A team by name; the company's own top team, whatever its name, as
    {"company": true} (it has another name in another organization)."""
    if team is None:
        return None
    return {"company": True} if team.kind == Team.Kind.COMPANY else team.name


def _reference_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and WHOLE_REF.fullmatch(value) else None


def _connector_out(
    connector: Connector, path: str, withheld: list[dict[str, str]]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": connector.kind,
        **{
            name: str(connector.settings.get(name, ""))
            for name in SETTINGS_OF_KIND.get(connector.kind, ())
        },
        "schedule": connector.schedule,
        "at_time": connector.at_time.strftime("%H:%M"),
        "weekday": connector.weekday,
        "cron": connector.cron,
        "enabled": connector.enabled,
    }
    try:
        parts = connector.secret_parts()
    except Unreadable:
        parts = {}
        withheld.append(
            {"path": path, "reason": "A stored secret cannot be decrypted."}
        )
    if connector.kind == Connector.Kind.SQL:
        url = parts.get("database_url")
        out["database_url"] = _reference_or_none(url)
        if url and out["database_url"] is None:
            withheld.append(
                {
                    "path": f"{path}.database_url",
                    "reason": "Stored inline, not as an ${ENV_VAR} reference.",
                }
            )
    else:
        address = parts.get("url")
        out["url"] = _reference_or_none(address)
        if address and out["url"] is None:
            withheld.append(
                {
                    "path": f"{path}.url",
                    "reason": "Stored inline, not as an ${ENV_VAR} reference.",
                }
            )
        headers = parts.get("headers")
        out["headers"] = {}
        if isinstance(headers, dict):
            for name, value in headers.items():
                ref = _reference_or_none(value)
                out["headers"][name] = ref
                if ref is None:
                    withheld.append(
                        {
                            "path": f"{path}.headers.{name}",
                            "reason": "Stored inline, not as an ${ENV_VAR} reference.",
                        }
                    )
    return out


# Import


class DefinitionsInvalid(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)  # keys whose connector is set
    dry_run: bool = True


class _Rollback(Exception):
    pass


class _ItemErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def import_definitions(
    *, membership: Membership, document: Any, dry_run: bool = True
) -> ImportResult:
    """Create or update the document's KPIs (by key) and their connectors, all or
    nothing. DefinitionsInvalid lists every problem with its JSON path. A dry run
    does the same work and rolls it back."""
    org = membership.organization
    items = _document_items(document)
    result = ImportResult(dry_run=dry_run)
    errors: list[dict[str, str]] = []
    try:
        with transaction.atomic():
            seen: set[str] = set()
            for index, item in enumerate(items):
                path = f"kpis[{index}]"
                try:
                    with transaction.atomic():
                        _import_item(membership, org, item, path, seen, result)
                except _ItemErrors as problem:
                    errors += [
                        {"path": f"{path}.{name}" if name else path, "message": msg}
                        for name, msg in problem.errors.items()
                    ]
            if errors:
                raise DefinitionsInvalid(errors)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return result


def _document_items(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        raise DefinitionsInvalid([{"path": "", "message": "Send a JSON object."}])
    if document.get("format") != FORMAT:
        raise DefinitionsInvalid(
            [{"path": "format", "message": f"Not a “{FORMAT}” document."}]
        )
    if document.get("version") != VERSION:
        raise DefinitionsInvalid(
            [{"path": "version", "message": f"This server reads version {VERSION}."}]
        )
    try:
        bad = _bad_text(document)
    except RecursionError:
        bad = True
    if bad:
        raise DefinitionsInvalid(
            [
                {
                    "path": "",
                    "message": "The document holds a NUL character, invalid text or too deep nesting.",
                }
            ]
        )
    items = document.get("kpis")
    if not isinstance(items, list):
        raise DefinitionsInvalid([{"path": "kpis", "message": "Send a list of KPIs."}])
    if len(items) > MAX_KPIS:
        raise DefinitionsInvalid(
            [{"path": "kpis", "message": f"At most {MAX_KPIS} KPIs in one document."}]
        )
    return items


def _decimal(value: Any) -> Decimal | None:
    """A target's value, by the one rule of values (landmark.lib.values)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        return parse_value(value)
    except ValueProblem as problem:
        raise ValueError(problem.sentence) from None


def _tolerance(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError
    number = Decimal(str(value))
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(1):
        raise ValueError
    return number


def _bad_text(value: Any) -> bool:
    """Text no database stores: a NUL character or a lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


def _fields_of(
    org: Organization, item: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    # A field left out keeps its stored value (an update) or its default (a new KPI).
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        errors["name"] = "Every KPI needs its name."
    for name in TEXT_FIELDS:
        if name not in item:
            continue
        value = item[name]
        if not isinstance(value, str):
            errors[name] = "Send text."
        else:
            fields[name] = value
    for name, allowed in CHOICES.items():
        if name not in item:
            continue
        value = item[name]
        if value not in allowed:
            errors[name] = f"Choose one of: {', '.join(v or '“”' for v in allowed)}."
        else:
            fields[name] = value
    for name in BOOL_FIELDS:
        if name in item:
            if not isinstance(item[name], bool):
                errors[name] = "Send true or false."
            else:
                fields[name] = item[name]
    for name in ("target_low", "target_high"):
        if name in item:
            try:
                fields[name] = _decimal(item[name])
            except ValueError as error:
                errors[name] = str(error)
    if "tolerance" in item:
        try:
            fields["tolerance"] = _tolerance(item["tolerance"])
        except (ValueError, InvalidOperation):
            errors["tolerance"] = "Send a share from 0 to 1 (0.1 is 10 %)."
    team = item.get("team")
    if "team" not in item:
        pass
    elif team is None:
        fields["team"] = None
    elif team == {"company": True}:
        company = Team.objects.filter(organization=org, kind=Team.Kind.COMPANY).first()
        if company is None:
            errors["team"] = "This organization has no company team."
        else:
            fields["team"] = company
    elif not isinstance(team, str):
        errors["team"] = "Send the team's name, {“company”: true} or null."
    else:
        teams = list(Team.objects.filter(organization=org, name=team)[:2])
        if len(teams) != 1:
            errors["team"] = (
                f"No team is named “{team}” in this organization."
                if not teams
                else f"Two teams are named “{team}”: rename one."
            )
        else:
            fields["team"] = teams[0]
    owner = item.get("owner")
    if "owner" not in item:
        pass
    elif owner is None:
        fields["owner"] = None
    elif not isinstance(owner, str):
        errors["owner"] = "Send the owner's email address."
    else:
        member = (
            Membership.objects.filter(
                organization=org, is_active=True, user__email__iexact=owner
            )
            .select_related("user")
            .first()
        )
        if member is None:
            errors["owner"] = (
                f"No active member of this organization has the email {owner}."
            )
        else:
            fields["owner"] = member.user
    return fields


def _targets_of(item: dict[str, Any], errors: dict[str, str]) -> list[Any] | None:
    raw = item.get("targets")
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors["targets"] = "Send a list of targets."
        return None
    schedule = []
    for i, row in enumerate(raw):
        try:
            if not isinstance(row, dict):
                raise ValueError
            start = date.fromisoformat(str(row.get("window_start")))
            if not bounds.date_in_range(start):
                raise ValueError
            schedule.append(
                (start, _decimal(row.get("low")), _decimal(row.get("high")))
            )
        except ValueError:
            errors[f"targets[{i}]"] = (
                "Send {“window_start”: “YYYY-MM-DD”, “low”: number, “high”: number}."
            )
    return schedule


def _import_item(
    membership: Membership,
    org: Organization,
    item: Any,
    path: str,
    seen: set[str],
    result: ImportResult,
) -> None:
    if not isinstance(item, dict):
        raise _ItemErrors({"": "Send a KPI as a JSON object."})
    errors: dict[str, str] = {}
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise _ItemErrors({"key": "Every KPI needs its key."})
    if key in seen:
        raise _ItemErrors({"key": f"The key “{key}” appears twice in the document."})
    seen.add(key)
    fields = _fields_of(org, item, errors)
    schedule = _targets_of(item, errors)
    connector_data = _connector_input(item.get("connector"), errors)
    if errors:
        raise _ItemErrors(errors)
    kpi = KPI.objects.for_org(org).filter(key=key).first()
    name = fields.pop("name", "")
    try:
        if kpi is None:
            kpi = kpi_actions.create_kpi(org=org, name=name, key=key, **fields)
            result.created.append(key)
        else:
            kpi_actions.update_kpi(kpi=kpi, name=name, **fields)
            result.updated.append(key)
        if schedule is not None:
            kpi_actions.set_kpi_targets(kpi=kpi, schedule=schedule)
    except ValidationError as error:
        raise _ItemErrors(
            {
                ("" if n == "__all__" else n): " ".join(m)
                for n, m in error.message_dict.items()
            }
        ) from None
    if connector_data is not None:
        _save_connector(membership, kpi, connector_data)
        result.connectors.append(key)


def _connector_input(raw: Any, errors: dict[str, str]) -> ConnectorInput | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors["connector"] = "Send the connector as a JSON object, or null."
        return None
    kind = raw.get("kind")
    if kind not in SETTINGS_OF_KIND:
        errors["connector.kind"] = "Choose sql, http_json or csv_url."
        return None
    secrets: dict[str, Any] = {}
    if "database_url" in raw and raw["database_url"] is not None:
        if not isinstance(raw["database_url"], str) or not WHOLE_REF.fullmatch(
            raw["database_url"]
        ):
            errors["connector.database_url"] = (
                "A secret is written as an environment variable reference, "
                "${SALES_DB_URL}, never inline."
            )
        else:
            secrets["database_url"] = raw["database_url"]
    if kind != Connector.Kind.SQL and raw.get("url") is not None:
        if not isinstance(raw["url"], str) or not WHOLE_REF.fullmatch(raw["url"]):
            errors["connector.url"] = (
                "The source's URL is a secret (it often carries a token): write it "
                "as an environment variable reference, ${TICKETS_URL}, never inline."
            )
        else:
            secrets["url"] = raw["url"]
    headers = raw.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            errors["connector.headers"] = "Send headers as a JSON object."
        else:
            for name, value in headers.items():
                if value is not None and (
                    not isinstance(value, str) or not WHOLE_REF.fullmatch(value)
                ):
                    errors[f"connector.headers.{name}"] = (
                        "A header value is written as an environment variable "
                        "reference, ${API_TOKEN}, never inline."
                    )
            secrets["headers"] = headers
    at = raw.get("at_time", "06:00")
    try:
        if not isinstance(at, str) or len(at) != 5:
            raise ValueError
        at_time = time.fromisoformat(at)
    except ValueError:
        errors["connector.at_time"] = "Send a time of day, HH:MM."
        at_time = time(6, 0)
    weekday = raw.get("weekday", 0)
    if not isinstance(weekday, int) or isinstance(weekday, bool):
        errors["connector.weekday"] = "Send 0 (Monday) to 6 (Sunday)."
        weekday = 0
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["connector.enabled"] = "Send true or false."
    texts = {}
    for name in (*SETTINGS_OF_KIND[kind], "schedule", "cron"):
        value = raw.get(name, "daily" if name == "schedule" else "")
        if not isinstance(value, str):
            errors[f"connector.{name}"] = "Send text."
        texts[name] = value if isinstance(value, str) else ""
    return ConnectorInput(
        kind=kind,
        settings={n: texts[n] for n in SETTINGS_OF_KIND[kind]},
        secrets=secrets,
        schedule=texts["schedule"],
        at_time=at_time,
        weekday=weekday,
        cron=texts["cron"],
        enabled=enabled is True,
    )


def _save_connector(membership: Membership, kpi: KPI, data: ConnectorInput) -> None:
    """Withheld (null) secrets keep the stored ones; a new connector needs them."""
    existing = Connector.objects.filter(kpi=kpi).first()
    stored: dict[str, Any] = {}
    if existing is not None and existing.kind == data.kind:
        try:
            stored = existing.secret_parts()
        except Unreadable:
            stored = {}
    headers = data.secrets.get("headers")
    if isinstance(headers, dict):
        kept = stored.get("headers") if isinstance(stored.get("headers"), dict) else {}
        merged: dict[str, str] = {}
        missing: dict[str, str] = {}
        for name, value in headers.items():
            if value is None:
                if isinstance(kept, dict) and name in kept:
                    merged[name] = kept[name]
                else:
                    missing[f"connector.headers.{name}"] = (
                        "Withheld in the export: write its ${ENV_VAR} reference."
                    )
            else:
                merged[name] = value
        if missing:
            raise _ItemErrors(missing)
        data.secrets["headers"] = merged
    if (
        data.kind == Connector.Kind.SQL
        and "database_url" not in data.secrets
        and not stored.get("database_url")
    ):
        raise _ItemErrors(
            {
                "connector.database_url": "Write the database URL's ${ENV_VAR} "
                "reference (it was withheld, or is missing)."
            }
        )
    if (
        data.kind != Connector.Kind.SQL
        and "url" not in data.secrets
        and not stored.get("url")
    ):
        raise _ItemErrors(
            {
                "connector.url": "Write the URL's ${ENV_VAR} reference (it was "
                "withheld, or is missing)."
            }
        )
    try:
        save_connector(kpi=kpi, membership=membership, data=data)
    except ConnectorInvalid as invalid:
        raise _ItemErrors(
            {f"connector.{n}": m for n, m in invalid.errors.items()}
        ) from None
