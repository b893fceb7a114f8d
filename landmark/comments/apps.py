from django.apps import AppConfig


class CommentsConfig(AppConfig):
    """Comment threads on objectives, key results and KPIs, with @mentions that
    notify (docs/okrs.md and docs/kpis.md, "Comments")."""

    name = "landmark.comments"
    label = "comments"
    verbose_name = "Comments"

    def ready(self) -> None:
        # The objective's activity and the KPI's history (lower layers) list what
        # happened in their threads: they ask the providers registered here.
        from landmark.comments import history
        from landmark.kpis.detail_views import KPI_EDIT_SOURCES
        from landmark.okrs.activity import OBJECTIVE_EVENT_SOURCES

        if history.objective_events not in OBJECTIVE_EVENT_SOURCES:
            OBJECTIVE_EVENT_SOURCES.append(history.objective_events)
        if history.kpi_edits not in KPI_EDIT_SOURCES:
            KPI_EDIT_SOURCES.append(history.kpi_edits)
