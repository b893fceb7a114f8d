from django.apps import AppConfig


class OkrsConfig(AppConfig):
    name = "landmark.okrs"
    label = "okrs"
    verbose_name = "OKRs"
