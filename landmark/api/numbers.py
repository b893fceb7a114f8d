"""The numbers the web shows beside each objective, key result and KPI (progress,
pace, health, trend...), computed for the API by the web's own functions:
okrs.tree.evaluate_objectives and evaluate_key_result (okrs/scoring.py underneath),
kpis.read.load_kpi_views (kpis/health.py underneath).

A list computes them for its whole page at once, in a fixed number of queries: the
key results of the page's objectives in one prefetch, every KPI's windows in one
query and their per-window targets in another. The numbers are attached to each
object before the schema reads them; a schema asked for numbers that were not
loaded raises instead of computing them one object at a time.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.kpis.read import KPIView, load_kpi_views
from landmark.okrs.models import KeyResult, Objective
from landmark.okrs.tree import (
    KRView,
    ObjectiveView,
    evaluate_key_result,
    evaluate_objectives,
)
from landmark.orgs.models import Membership

T = TypeVar("T")
ATTRIBUTE = "api_numbers"


def attach(obj: T, numbers: Any) -> T:
    setattr(obj, ATTRIBUTE, numbers)
    return obj


def numbers_of(obj: Any) -> Any:
    try:
        return getattr(obj, ATTRIBUTE)
    except AttributeError:
        raise RuntimeError(
            f"{type(obj).__name__} {obj.pk}: load its numbers through "
            "landmark.api.numbers before the API shows it."
        ) from None


def objective_numbers(obj: Objective) -> ObjectiveView:
    view: ObjectiveView = numbers_of(obj)
    return view


def key_result_numbers(obj: KeyResult) -> KRView:
    view: KRView = numbers_of(obj)
    return view


def kpi_numbers(obj: KPI) -> KPIView:
    view: KPIView = numbers_of(obj)
    return view


def with_objective_numbers(
    membership: Membership,
    objectives: Sequence[Objective],
    now: datetime | None = None,
) -> list[Objective]:
    """The objectives (each with `period` and `key_results` loaded), numbered."""
    views = evaluate_objectives(membership, objectives, now or timezone.now())
    return [attach(o, views[o.pk]) for o in objectives]


def with_key_result_numbers(
    membership: Membership,
    key_results: Iterable[KeyResult],
    now: datetime | None = None,
) -> list[KeyResult]:
    """The key results (each with `objective.period` loaded), numbered."""
    now = now or timezone.now()
    org = membership.organization
    return [
        attach(kr, evaluate_key_result(kr, kr.objective.period, org, now))
        for kr in key_results
    ]


def with_kpi_numbers(kpis: Sequence[KPI], now: datetime | None = None) -> list[KPI]:
    """The KPIs, numbered as their pages and dashboard tiles read them."""
    views = load_kpi_views(kpis, now=now or timezone.now())
    return [attach(k, views[k.pk]) for k in kpis]
