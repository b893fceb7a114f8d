from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path

from landmark.api.api import api_urls

urlpatterns = [
    # First: an API call is resolved without trying every web page's pattern before.
    path("api/v1/", api_urls()),
    # allauth's own views under the names the rest of Landmark uses.
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("landmark.orgs.urls")),
    path("", include("landmark.okrs.urls")),
    path("", include("landmark.kpis.urls")),
    path("", include("landmark.api.urls")),
]
