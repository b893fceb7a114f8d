from django.urls import path

from landmark.api import views

urlpatterns = [
    path("settings/tokens/", views.token_list, name="api_tokens"),
    path(
        "settings/tokens/<int:pk>/revoke/", views.token_revoke, name="api_token_revoke"
    ),
    path(
        "settings/organization-tokens/",
        views.organization_token_list,
        name="organization_api_tokens",
    ),
    path(
        "settings/organization-tokens/<int:pk>/revoke/",
        views.organization_token_revoke,
        name="organization_api_token_revoke",
    ),
]
