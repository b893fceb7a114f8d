"""What okrs announces to the apps built on it, which okrs never imports."""

from django.dispatch import Signal

# Each is sent inside the transaction of the change (a receiver that fails undoes it),
# so what a receiver writes is committed with the change or not at all: hooks turns
# them into webhook events (hooks/apps.py).

# An objective was created (`created` True) or changed: `objective`, `fields` (the
# names of the fields changed; every field when created).
objective_saved = Signal()

# A check-in was recorded on a key result: `checkin`.
checkin_recorded = Signal()

# A period was closed (its objectives graded): `period`.
period_closed = Signal()
