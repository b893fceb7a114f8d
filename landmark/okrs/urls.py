from django.urls import path

from landmark.okrs import activity_views, views

urlpatterns = [
    path("", views.focus, name="focus"),
    path("okrs/", views.tree, name="tree"),
    path("getting-started/", views.getting_started, name="getting_started"),
    path(
        "getting-started/dismiss/",
        views.getting_started_dismiss,
        name="getting_started_dismiss",
    ),
    path("objectives/new/", views.objective_create, name="objective_create"),
    path("objectives/<int:pk>/", views.objective_detail, name="objective"),
    path("objectives/<int:pk>/edit/", views.objective_edit, name="objective_edit"),
    path(
        "objectives/<int:pk>/activate/",
        views.objective_activate,
        name="objective_activate",
    ),
    path("objectives/<int:pk>/as-of/", views.objective_as_of, name="objective_as_of"),
    path("activity/", activity_views.organization_log, name="organization_log"),
    path(
        "objectives/<int:pk>/activity/",
        activity_views.objective_activity_page,
        name="objective_activity",
    ),
    path(
        "objectives/<int:pk>/key-results/new/",
        views.key_result_create,
        name="key_result_create",
    ),
    path("objectives/<int:pk>/kudos/", views.kudos_create, name="kudos_create"),
    path("key-results/<int:pk>/edit/", views.key_result_edit, name="key_result_edit"),
    path(
        "key-results/<int:pk>/check-in/",
        views.key_result_checkin,
        name="key_result_checkin",
    ),
    path(
        "key-results/<int:pk>/initiatives/new/",
        views.initiative_create,
        name="initiative_create",
    ),
    path("initiatives/<int:pk>/edit/", views.initiative_edit, name="initiative_edit"),
    path("periods/", views.period_list, name="periods"),
    path("periods/new/", views.period_create, name="period_create"),
    path("periods/<int:pk>/edit/", views.period_edit, name="period_edit"),
    path("periods/<int:pk>/state/", views.period_set_state, name="period_set_state"),
    path("periods/<int:pk>/close/", views.period_close, name="period_close"),
    path(
        "periods/<int:pk>/import-check-ins/",
        views.period_import_checkins,
        name="period_import_checkins",
    ),
]
