"""What kpis announces to the apps built on it, which kpis never imports."""

from dataclasses import dataclass

from django.dispatch import Signal

# Sent when KPIs' values change (a value recorded or corrected, an import, a batch
# ingested), inside the writing transaction, with `kpis` (the KPIs whose values
# changed) and `author` (the User who wrote them, or None): key results tracking one
# of them follow its value (loop/apps.py).
values_changed = Signal()


@dataclass(frozen=True)
class HealthChange:
    """A KPI's stored health moved (kpis.current.refresh_current): `before` and
    `after` are Health values (staleness aside: it is read, never stored)."""

    kpi_id: int
    organization_id: int
    before: str
    after: str


# Sent by kpis.current.refresh_current inside the writing transaction when KPIs' stored
# health changes, with `changes` (a list of HealthChange): hooks tells webhooks.
health_changed = Signal()
