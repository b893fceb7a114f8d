from django.apps import AppConfig

from landmark.kpis.signals import values_changed


class NotifyConfig(AppConfig):
    name = "landmark.notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Registers the chat channel beside email (imported once the models are ready).
        from landmark.notify import chat  # noqa: F401

        # Imported once the models are ready: Django's place to connect receivers.
        from landmark.notify.alerts import on_values_changed

        values_changed.connect(on_values_changed, dispatch_uid="notify.kpi_alerts")
