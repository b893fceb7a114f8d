from django.urls import path

from landmark.connectors import views

urlpatterns = [
    path(
        "kpis/definitions/export/",
        views.definitions_export,
        name="kpi_definitions_export",
    ),
    path(
        "kpis/definitions/import/",
        views.definitions_import,
        name="kpi_definitions_import",
    ),
    path(
        "kpis/<int:pk>/connector/", views.connector_settings, name="connector_settings"
    ),
    path("kpis/<int:pk>/connector/test/", views.connector_test, name="connector_test"),
    path("kpis/<int:pk>/connector/run/", views.connector_run, name="connector_run"),
]
