from django.urls import path

from landmark.kpis import detail_views, views

# The KPI pages that show OKRs too (the dashboard, a KPI's page, its edit form, Fix
# with an OKR, the strategy map) are served by loop/urls.py.
urlpatterns = [
    # KPI set-up (views.py).
    path("kpis/new/", views.kpi_create, name="kpi_create"),
    path("kpis/picker/", views.kpi_picker, name="kpi_picker"),
    path("kpis/<int:pk>/targets/", views.kpi_targets, name="kpi_targets"),
    # One KPI's data: chart, data entry and import (detail_views.py).
    path(
        "kpis/<int:pk>/chart.json", detail_views.kpi_chart_data, name="kpi_chart_data"
    ),
    path("kpis/<int:pk>/points/new/", detail_views.point_add, name="kpi_point_add"),
    path(
        "points/<int:pk>/correct/", detail_views.point_correct, name="kpi_point_correct"
    ),
    path("kpis/<int:pk>/import/", detail_views.point_import, name="kpi_import"),
]
