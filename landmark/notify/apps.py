from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "landmark.notify"
    verbose_name = "Notifications"
