from django.apps import AppConfig


class OkrsConfig(AppConfig):
    name = "landmark.okrs"
    label = "okrs"
    verbose_name = "OKRs"

    def ready(self) -> None:
        # Models are ready only now: Django's place to connect receivers.
        from landmark.okrs.actions import open_current_quarter
        from landmark.orgs.signals import organization_started

        organization_started.connect(
            open_current_quarter, dispatch_uid="okrs.open_current_quarter"
        )
