from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "landmark.orgs"
    label = "orgs"
    verbose_name = "Organizations"
