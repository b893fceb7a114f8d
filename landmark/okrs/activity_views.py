"""Activity pages: the organization log (admins) and one objective's activity, as
sentences, filtered by person, team, kind and date range, and paginated."""

from datetime import date
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from landmark.lib import bounds
from landmark.okrs.access import get_objective_for_member
from landmark.okrs.activity import KINDS, OBJECTIVE_KINDS, Filters, activity
from landmark.orgs.access import (
    member_required,
    membership_of,
    org_users,
    require_admin,
)
from landmark.orgs.models import Membership, Team, User

PAGE_SIZE = 25  # sentences a page


class ActivityFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Anyone",
        label="Person",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="Any team",
        label="Team",
    )
    kind = forms.ChoiceField(required=False, label="Kind")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, data: Any, *, membership: Membership, objective_feed: bool
    ) -> None:
        super().__init__(data)
        person: Any = self.fields["person"]
        person.queryset = org_users(membership)
        team: Any = self.fields["team"]
        if objective_feed:  # one objective belongs to one team
            del self.fields["team"]
        else:
            team.queryset = Team.objects.filter(
                organization=membership.organization
            ).order_by("name")
        kinds = OBJECTIVE_KINDS if objective_feed else tuple(KINDS)
        kind: Any = self.fields["kind"]
        kind.choices = [("", "Everything"), *((k, KINDS[k]) for k in kinds)]

    def clean_since(self) -> date | None:
        return self.checked_day("since")

    def clean_until(self) -> date | None:
        return self.checked_day("until")

    def checked_day(self, name: str) -> date | None:
        day: date | None = self.cleaned_data.get(name)
        if day is not None and not bounds.date_in_range(day):
            raise forms.ValidationError(bounds.DATE_MESSAGE)
        return day

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range is before its start.")
        return data

    def filters(self, objective: int | None = None) -> Filters:
        """The valid filters (a field in error narrows nothing)."""
        data = self.cleaned_data if self.is_bound else {}
        ok = {name: value for name, value in data.items() if name not in self.errors}
        person, team = ok.get("person"), ok.get("team")
        return Filters(
            person=person.pk if person else None,
            team=team.pk if team else None,
            kind=ok.get("kind") or "",
            since=ok.get("since"),
            until=ok.get("until"),
            objective=objective,
        )


def feed_page(
    request: HttpRequest,
    membership: Membership,
    *,
    objective: int | None = None,
) -> dict[str, Any]:
    """The filter form, the page of events and the pager's query string."""
    params = request.GET.copy()
    form = ActivityFilterForm(
        params
        if any(params.get(k) for k in ("person", "team", "kind", "since", "until"))
        else None,
        membership=membership,
        objective_feed=objective is not None,
    )
    if form.is_bound:
        form.is_valid()
    filters = form.filters(objective)
    feed = activity(
        membership.organization,
        filters,
        membership=membership if objective is not None else None,
    )
    page = Paginator(feed.events, PAGE_SIZE).get_page(params.get("page"))
    params.pop("page", None)
    return {
        "form": form,
        "page": page,
        "events": page.object_list,
        "truncated": feed.truncated,
        "filtered": filters != Filters(objective=objective),
        "query": params.urlencode(),
    }


@require_GET
@member_required
def organization_log(request: HttpRequest) -> HttpResponse:
    """Every recent change in the organization (admins)."""
    membership = membership_of(request)
    require_admin(membership)
    return render(
        request,
        "okrs/activity_log.html",
        {"org": membership.organization, **feed_page(request, membership)},
    )


@require_GET
@member_required
def objective_activity_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One objective's activity (anyone who may open the objective)."""
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    return render(
        request,
        "okrs/objective_activity_page.html",
        {"objective": objective, **feed_page(request, membership, objective=pk)},
    )
