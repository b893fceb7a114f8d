from django.urls import path

from landmark.orgs import views

urlpatterns = [
    path("teams/", views.team_list, name="teams"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("members/", views.member_list, name="members"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path(
        "members/<int:pk>/deactivate/",
        views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "members/<int:pk>/reactivate/",
        views.member_reactivate,
        name="member_reactivate",
    ),
    path("members/invite/", views.member_invite, name="member_invite"),
    path(
        "members/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "members/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("switch-organization/", views.switch_org, name="switch_org"),
    path("no-organization/", views.no_organization, name="no_organization"),
    path(
        "settings/organization/",
        views.organization_settings,
        name="organization_settings",
    ),
    path("settings/sso/", views.sso_settings, name="sso_settings"),
    path("settings/sso/check/", views.sso_check, name="sso_check"),
    path("sso/", views.sso_login, name="sso_login"),
    path(
        "verify-email/resend/",
        views.resend_verification,
        name="resend_verification",
    ),
]
