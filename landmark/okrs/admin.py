from django.contrib import admin

from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    Period,
)


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin[Period]):
    list_display = ["name", "organization", "kind", "start", "end", "state"]
    list_filter = ["state", "kind", "organization"]


class KeyResultInline(admin.TabularInline[KeyResult, Objective]):
    model = KeyResult
    fields = ["title", "kind", "start", "target", "current", "weight", "owner"]
    raw_id_fields = ["owner"]
    extra = 0


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin[Objective]):
    list_display = [
        "title",
        "organization",
        "period",
        "level",
        "team",
        "owner",
        "state",
    ]
    list_filter = ["level", "state", "organization"]
    search_fields = ["title"]
    raw_id_fields = ["owner", "parent", "team", "period", "carried_from"]
    inlines = [KeyResultInline]


@admin.register(KeyResult)
class KeyResultAdmin(admin.ModelAdmin[KeyResult]):
    list_display = [
        "title",
        "organization",
        "kind",
        "current",
        "target",
        "last_checkin_at",
    ]
    search_fields = ["title"]
    raw_id_fields = ["objective", "owner"]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin[CheckIn]):
    """Check-ins are append-only: staff can read them, never edit or delete them."""

    list_display = ["key_result", "author", "value", "done", "status", "created_at"]
    raw_id_fields = ["key_result", "author"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin[Initiative]):
    list_display = ["title", "status", "key_result", "owner"]
    raw_id_fields = ["key_result", "owner"]


@admin.register(Kudos)
class KudosAdmin(admin.ModelAdmin[Kudos]):
    list_display = ["sender", "recipient", "message", "created_at"]
    raw_id_fields = ["sender", "recipient", "objective", "key_result"]
