from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "landmark.kpis"
    label = "kpis"
    verbose_name = "KPIs"
