from django.urls import path

from landmark.loop import coach_views, views

# KPI pages that show OKRs too, at the addresses and names they always had.
urlpatterns = [
    path("kpis/", views.dashboard, name="kpi_dashboard"),
    path("kpis/<int:pk>/", views.kpi_detail, name="kpi"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path(
        "kpis/<int:pk>/fix-with-okr/", views.kpi_fix_with_okr, name="kpi_fix_with_okr"
    ),
    path(
        "key-results/<int:pk>/keep-as-kpi/",
        views.key_result_keep_as_kpi,
        name="key_result_keep_as_kpi",
    ),
    path("strategy/", views.strategy_map, name="strategy_map"),
    path("coach/", coach_views.coach_page, name="coach"),
]
