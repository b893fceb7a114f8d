"""The one web page action of the demo layer: "Load example OKRs and KPIs" on the
getting-started checklist (examples.py). Here, above okrs and kpis, because it
builds both; routed in landmark/urls.py."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from landmark.demo.examples import NotEmpty, load_examples
from landmark.orgs.access import member_required, membership_of, require_admin


@require_POST
@member_required
def load_example_okrs(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    try:
        loaded = load_examples(org=membership.organization, by=membership)
    except NotEmpty:
        messages.warning(
            request,
            "Examples are only for an organization with no KPIs and no objectives yet: nothing was added.",
        )
        return redirect("focus")
    messages.success(
        request,
        f"Added {loaded.kpis} example KPIs, {loaded.objectives} objectives and "
        f"{loaded.key_results} key results, all owned by you. Edit them, or delete "
        "them once you have your own.",
    )
    return redirect("focus")
