from django.urls import path

from landmark.kpis import detail_views, views

urlpatterns = [
    # Dashboard, KPI set-up and the strategy map (views.py).
    path("kpis/", views.dashboard, name="kpi_dashboard"),
    path("kpis/new/", views.kpi_create, name="kpi_create"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path("kpis/<int:pk>/targets/", views.kpi_targets, name="kpi_targets"),
    path(
        "kpis/<int:pk>/fix-with-okr/", views.kpi_fix_with_okr, name="kpi_fix_with_okr"
    ),
    path("strategy/", views.strategy_map, name="strategy_map"),
    # One KPI: chart, data table, data entry and import (detail_views.py).
    path("kpis/<int:pk>/", detail_views.kpi_detail, name="kpi"),
    path(
        "kpis/<int:pk>/chart.json", detail_views.kpi_chart_data, name="kpi_chart_data"
    ),
    path("kpis/<int:pk>/points/new/", detail_views.point_add, name="kpi_point_add"),
    path(
        "points/<int:pk>/correct/", detail_views.point_correct, name="kpi_point_correct"
    ),
    path("kpis/<int:pk>/import/", detail_views.point_import, name="kpi_import"),
]
