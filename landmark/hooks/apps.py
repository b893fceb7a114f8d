from django.apps import AppConfig

from landmark.kpis.signals import health_changed
from landmark.okrs.signals import checkin_recorded, objective_saved, period_closed
from landmark.orgs.signals import member_joined


class HooksConfig(AppConfig):
    """Outgoing webhooks: what happens in an organization, POSTed to the URLs its
    admins chose (docs/api.md, "Webhooks")."""

    name = "landmark.hooks"
    label = "hooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Imported once the models are ready: Django's place to connect receivers.
        from landmark.hooks import events

        objective_saved.connect(events.on_objective_saved, dispatch_uid="hooks.obj")
        checkin_recorded.connect(events.on_checkin, dispatch_uid="hooks.checkin")
        health_changed.connect(events.on_health_changed, dispatch_uid="hooks.health")
        period_closed.connect(events.on_period_closed, dispatch_uid="hooks.period")
        member_joined.connect(events.on_member_joined, dispatch_uid="hooks.member")
