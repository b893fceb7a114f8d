from django.urls import path

from landmark.notify import views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notifications_bell, name="notifications_bell"),
    path(
        "notifications/<int:pk>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        views.notifications_read_all,
        name="notifications_read_all",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.unsubscribe,
        name="unsubscribe",
    ),
    path(
        "settings/notifications/",
        views.notification_settings,
        name="notification_settings",
    ),
    path("settings/reminders/", views.reminder_settings, name="reminder_settings"),
    path("teams/<int:pk>/reminders/", views.team_reminders, name="team_reminders"),
]
