"""The KPI picker: a text filter over the KPIs a member may see, instead of a
multi-select of every KPI (docs/okrs.md, "Linking KPIs").

A form field renders the KPIs already chosen (checked) and the first few others; the
search box asks `kpi_picker` (htmx, as one types) for the chosen ones again and up
to PICK_LIMIT matches. Without JavaScript the form's "Find" button sends the form
back to its page, which shows it again with the matches. Two queries whatever the
size of the workspace: the chosen KPIs, and one page of matches."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from landmark.kpis.models import KPI
from landmark.lib import bounds

PICK_LIMIT = 20
MAX_QUERY = 100  # characters of the search text
MAX_CHOSEN = 500  # ids read back from one request


def chosen_ids(values: Any) -> list[int]:
    """The valid ids among what a form sent (anything else is dropped)."""
    if values is None or values == "":
        return []
    if not isinstance(values, list | tuple):
        values = [values]
    ids = [bounds.parse_id(str(v)) for v in values[:MAX_CHOSEN]]
    return list(dict.fromkeys(i for i in ids if i is not None))


def pick(kpis: "QuerySet[KPI]", *, chosen: list[int], query: str) -> dict[str, Any]:
    """The chosen KPIs (among `kpis`: the ones the member may see) and one page of
    the others whose name contains `query`."""
    query = query.strip()[:MAX_QUERY]
    rows = kpis.select_related("team")
    picked = list(rows.filter(pk__in=chosen)) if chosen else []
    others = rows.exclude(pk__in=chosen) if chosen else rows
    if query:
        others = others.filter(name__icontains=query)
    matches = list(others.order_by("name", "pk")[: PICK_LIMIT + 1])
    return {
        "picked": sorted(picked, key=lambda k: chosen.index(k.pk)),
        "matches": matches[:PICK_LIMIT],
        "more": len(matches) > PICK_LIMIT,
        "q": query,
    }


class KPIPicker(forms.Widget):
    """Checkboxes (or radio buttons, `multiple=False`) for the chosen KPIs and a
    page of others, with a search box. The field's queryset is the KPIs offered."""

    template_name = "kpis/kpi_picker.html"

    def __init__(self, *, multiple: bool, attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.multiple = multiple
        self.choices: Any = ()
        self.query = ""  # the search text, when the form is shown again for it

    def _render(
        self, template_name: str, context: dict[str, Any], renderer: Any = None
    ) -> SafeString:
        # The project's templates (the form renderer reads only Django's own).
        return mark_safe(render_to_string(template_name, context))  # noqa: S308  # an escaped template

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if self.multiple:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        # An unchecked box sends nothing: absent means "none chosen".
        return False if self.multiple else name not in data

    def get_context(
        self, name: str, value: Any, attrs: dict[str, Any] | None
    ) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        kpis = getattr(self.choices, "queryset", None)
        if kpis is None:
            kpis = KPI.objects.none()
        context["picker"] = {
            "name": name,
            "multiple": self.multiple,
            **pick(kpis, chosen=chosen_ids(value), query=self.query),
        }
        return context
