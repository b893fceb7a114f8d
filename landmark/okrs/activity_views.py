"""Activity pages: the organization log (admins) and one objective's activity, as
sentences, filtered by person, team, kind and date range, and paginated."""

from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from landmark.lib import bounds
from landmark.lib.forms import QuickSelect
from landmark.okrs.access import get_objective_for_member
from landmark.okrs.activity import (
    KINDS,
    OBJECTIVE_KINDS,
    WINDOW,
    Filters,
    activity,
)
from landmark.orgs.access import (
    member_required,
    membership_of,
    org_users,
    require_admin,
    team_choices,
)
from landmark.orgs.forms import UserChoiceField
from landmark.orgs.models import Membership, Team, User

PAGE_SIZE = 25  # sentences a page


class ActivityFilterForm(forms.Form):
    person = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Anyone",
        label="Person",
        widget=QuickSelect,
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="Any team",
        label="Team",
        widget=QuickSelect,
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
        person.queryset = org_users(membership).only("pk", "full_name", "email")
        team: Any = self.fields["team"]
        if objective_feed:  # one objective belongs to one team
            del self.fields["team"]
        else:
            # As the OKR tree's and the dashboard's team filters: the company and its
            # departments, or the chosen team's parents and sub-teams (a thousand
            # teams would make a list nobody reads and a slow page).
            team.queryset = team_choices(membership, self.chosen_team(membership))
        kinds = OBJECTIVE_KINDS if objective_feed else tuple(KINDS)
        kind: Any = self.fields["kind"]
        kind.choices = [("", "Everything"), *((k, KINDS[k]) for k in kinds)]

    def chosen_team(self, membership: Membership) -> Team | None:
        pk = str((self.data or {}).get("team") or "")
        if not pk.isdigit():
            return None
        return Team.objects.filter(
            organization=membership.organization, pk=int(pk)
        ).first()

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
    """The filter form, the page of events and the pager's query string.

    Page n of the organization log reads only each source's newest n × PAGE_SIZE
    rows: the events of page n are among them whatever the sources' mix, so page 1
    costs the same in a workspace of ten changes or of ten million. Its pager says
    Newer and Older rather than "page n of N", as the total would need every row. An
    objective's feed may hide what its reader may not see, so it reads its full window
    (one objective's rows)."""
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
    number = page_number(params.get("page"))
    window = WINDOW if objective is not None else min(WINDOW, number * PAGE_SIZE)
    feed = activity(
        membership.organization,
        filters,
        window=window,
        membership=membership if objective is not None else None,
    )
    last = max(1, -(-len(feed.events) // PAGE_SIZE))
    if number > last and not (feed.truncated and window < WINDOW):
        number = last  # past the end: the last page, as Django's get_page does
    events = feed.events[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    has_next = len(feed.events) > number * PAGE_SIZE or (
        feed.truncated and window < WINDOW
    )
    params.pop("page", None)
    return {
        "form": form,
        "page": {
            "number": number,
            "start": (number - 1) * PAGE_SIZE + 1,
            "end": (number - 1) * PAGE_SIZE + len(events),
            "has_previous": number > 1,
            "has_next": has_next,
        },
        "events": events,
        # Older rows than the window: reached by narrowing the dates.
        "truncated": feed.beyond and not has_next,
        "filtered": filters != Filters(objective=objective),
        "query": params.urlencode(),
    }


def page_number(asked: str | None) -> int:
    """The page asked for; 1 for nonsense, as Django's `Paginator.get_page`."""
    try:
        return max(1, int(asked or 1))
    except ValueError:
        return 1


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
