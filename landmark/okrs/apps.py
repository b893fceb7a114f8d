from django.apps import AppConfig

from landmark.orgs.signals import organization_started


class OkrsConfig(AppConfig):
    name = "landmark.okrs"
    label = "okrs"
    verbose_name = "OKRs"

    def ready(self) -> None:
        # Imported once the models are ready: Django's place to connect receivers.
        from landmark.okrs.actions import open_current_quarter

        organization_started.connect(
            open_current_quarter, dispatch_uid="okrs.open_current_quarter"
        )
