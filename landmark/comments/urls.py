from django.urls import path

from landmark.comments import views

urlpatterns = [
    path(
        "objectives/<int:pk>/comments/",
        views.comment_objective,
        name="comment_objective",
    ),
    path(
        "key-results/<int:pk>/comments/",
        views.key_result_comments,
        name="key_result_comments",
    ),
    path("kpis/<int:pk>/comments/", views.comment_kpi, name="comment_kpi"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
]
