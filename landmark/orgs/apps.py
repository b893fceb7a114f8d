from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "landmark.orgs"
    label = "orgs"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from landmark.orgs import checks  # noqa: F401  # registers the system checks
