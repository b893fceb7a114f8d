from django.urls import path

from landmark.notify import chat_views, views

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
    path("settings/chat/", chat_views.chat_rooms, name="chat_rooms"),
    path("settings/chat/<int:pk>/", chat_views.chat_room, name="chat_room"),
    path(
        "settings/chat/<int:pk>/delete/",
        chat_views.chat_room_delete,
        name="chat_room_delete",
    ),
    path(
        "settings/chat/<int:pk>/test/", chat_views.chat_room_test, name="chat_room_test"
    ),
    path("kpis/<int:pk>/watch/", views.kpi_watch, name="kpi_watch"),
]
