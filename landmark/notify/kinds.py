"""The kinds of notification Landmark sends, each with what a person may turn off.

Every kind lands in the app (the bell); each outside channel (email, and later chat or
webhooks) is on or off per person, per kind, per organization, on the notification
settings page and through the one-click unsubscribe link of each email. A new kind is
one `register_kind` call here or in its own app.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    # What it is, in the settings page's words: when it comes and why.
    description: str
    # The channels it uses when the person chose nothing.
    default_channels: frozenset[str] = field(
        default_factory=lambda: frozenset({"email"})
    )


KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    if kind.key in KINDS:
        raise ValueError(f"A notification kind {kind.key!r} is already registered.")
    KINDS[kind.key] = kind
    return kind


CHECKIN_REMINDER = register_kind(
    Kind(
        "checkin_reminder",
        "Check-in reminders",
        "When key results you own have not been checked in within the "
        "organization's cadence (weekly by default, Monday 09:00).",
    )
)
CHECKIN_ESCALATION = register_kind(
    Kind(
        "checkin_escalation",
        "Missed check-ins",
        "When someone in a team you lead (or, for admins, anyone) lets several "
        "reminders in a row pass without checking in.",
    )
)
KPI_UNHEALTHY = register_kind(
    Kind(
        "kpi_unhealthy",
        "KPI turned unhealthy",
        "When a KPI you own or watch turns unhealthy and stays so for the "
        "organization's hold time (one hour by default).",
    )
)
KPI_STALE = register_kind(
    Kind(
        "kpi_stale",
        "KPI went stale",
        "When a KPI you own or watch gets no new data within its window and grace, "
        "and stays so for the organization's hold time.",
    )
)
KPI_RECOVERED = register_kind(
    Kind(
        "kpi_recovered",
        "KPI recovered",
        "When a KPI you own or watch that was unhealthy or stale is healthy again "
        "and stays so for the organization's hold time.",
    )
)
WEEKLY_DIGEST = register_kind(
    Kind(
        "weekly_digest",
        "Weekly digest",
        "Once a week (Friday 16:00 unless the organization chose another time): "
        "your key results and their pace, your teams' KPIs, what changed in the "
        "week and the kudos you received.",
    )
)
MENTION = register_kind(
    Kind(
        "mention",
        "Mentions",
        "When someone @mentions you in a comment on an objective, a key result or a "
        "KPI you may open: what they wrote and a link to the thread.",
    )
)
