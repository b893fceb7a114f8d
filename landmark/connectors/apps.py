from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "landmark.connectors"
    verbose_name = "KPI connectors"
