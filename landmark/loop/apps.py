from django.apps import AppConfig

from landmark.kpis.signals import values_changed


class LoopConfig(AppConfig):
    """Where KPIs and OKRs meet: above both apps, which never import it."""

    name = "landmark.loop"
    label = "loop"
    verbose_name = "KPIs and OKRs"

    def ready(self) -> None:
        # Imported once the models are ready: Django's place to connect receivers.
        from landmark.loop.actions import follow_kpis

        values_changed.connect(follow_kpis, dispatch_uid="loop.follow_kpis")
