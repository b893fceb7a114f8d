from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "landmark.notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Registers the chat channel beside email (imported once the models are ready).
        from landmark.notify import chat  # noqa: F401
