"""django-simple-history's HistoricalRecords with the index a tenant's log reads.

The organization's activity log asks for an organization's latest versions, newest
first. With only simple-history's own index (on `history_date`) the database walks
every organization's versions from the newest until it has found enough of this one:
the page grew with other organizations' activity. This adds an index on
(organization, history_date, history_id), so the log reads exactly its own rows.
"""

from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords


class TenantHistoricalRecords(HistoricalRecords):  # type: ignore[misc]  # simple-history ships no type hints
    """HistoricalRecords for a model with an `organization` foreign key."""

    def get_meta_options(self, model: type[models.Model]) -> dict[str, Any]:
        options: dict[str, Any] = super().get_meta_options(model)
        name = f"{model._meta.app_label}_{model._meta.model_name}_hist_org"
        options["indexes"] = [
            *options.get("indexes", ()),
            models.Index(
                fields=["organization", "history_date", "history_id"], name=name[:30]
            ),
        ]
        return options
