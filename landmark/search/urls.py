from django.urls import path

from landmark.search import views

urlpatterns = [
    path("search/", views.results, name="search"),
]
