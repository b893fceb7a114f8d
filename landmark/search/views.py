from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from landmark.lib.http import is_partial
from landmark.orgs.access import member_required, membership_of
from landmark.search.read import BadQuery, search

PAGE_LIMIT = 20  # hits of each kind on /search/
DROPDOWN_LIMIT = 5  # hits of each kind under the box


@require_GET
@member_required
def results(request: HttpRequest) -> HttpResponse:
    """/search/?q=: the results page (without JavaScript), or the box's dropdown (htmx)."""
    membership = membership_of(request)
    partial = is_partial(request)
    q = request.GET.get("q", "")
    context: dict[str, object] = {"q": q, "results": None, "error": ""}
    if q.strip():
        try:
            context["results"] = search(
                membership, q, limit=DROPDOWN_LIMIT if partial else PAGE_LIMIT
            )
        except BadQuery as error:
            context["error"] = str(error)
    template = "search/dropdown.html" if partial else "search/results.html"
    return render(request, template, context)
