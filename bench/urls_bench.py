"""The product's URLs plus the benchmark's hello-world view (see settings_bench.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"Hello, world", content_type="text/plain")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/hello", hello, name="bench-hello"),
    path("", include("landmark.urls")),
]
