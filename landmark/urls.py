from allauth.account import views as account_views
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from landmark.api import views as api_views
from landmark.api.api import api_urls
from landmark.demo import views as demo_views
from landmark.orgs import views as org_views

# The Django admin logs staff in through Landmark's own login (two-factor, throttling)
# instead of its own password-only form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign,no-untyped-call]  # allauth's documented wrapper, untyped

urlpatterns = [
    # First: an API call is resolved without trying every web page's pattern before.
    path("api/v1/", api_urls()),
    # allauth's own views under the names the rest of Landmark uses.
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    # Before allauth's own (same address and name): turning two-factor off also ends
    # the person's other sessions and may revoke their API tokens.
    path(
        "accounts/2fa/totp/deactivate/",
        api_views.deactivate_totp,
        name="mfa_deactivate_totp",
    ),
    # Before allauth's own: the same view and name, with the CSP its form needs.
    path(
        "accounts/oidc/<str:provider_id>/login/",
        org_views.provider_login,
        name="openid_connect_login",
    ),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path(
        "getting-started/examples/",
        demo_views.load_example_okrs,
        name="getting_started_examples",
    ),
    path("", include("landmark.orgs.urls")),
    path("", include("landmark.okrs.urls")),
    path("", include("landmark.kpis.urls")),
    path("", include("landmark.loop.urls")),
    path("", include("landmark.search.urls")),
    path("", include("landmark.notify.urls")),
    path("", include("landmark.hooks.urls")),
    path("", include("landmark.comments.urls")),
    path("", include("landmark.connectors.urls")),
    path("", include("landmark.api.urls")),
]
