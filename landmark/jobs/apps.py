from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "landmark.jobs"
    verbose_name = "Jobs"
