from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "landmark.api"
    label = "api"
    verbose_name = "API"
