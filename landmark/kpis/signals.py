"""What kpis announces to the apps built on it, which kpis never imports."""

from django.dispatch import Signal

# Sent when KPIs' values change (a value recorded or corrected, an import, a batch
# ingested), inside the writing transaction, with `kpis` (the KPIs whose values
# changed) and `author` (the User who wrote them, or None): key results tracking one
# of them follow its value (loop/apps.py).
values_changed = Signal()
