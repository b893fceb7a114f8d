"""The members and teams pages show 50 rows a page: an organization may have a
thousand teams, and a page that listed them all grew with them."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from landmark.orgs import actions
from landmark.orgs.models import Membership, Team

EDIT_MEMBER = re.compile(r"/members/(\d+)/edit/")
TEAM_LINK = re.compile(r"/okrs/\?team=(\d+)")


def test_the_members_page_shows_fifty_a_page_and_every_member_once(alice_client, org):
    for n in range(60):
        actions.create_member(org=org, email=f"p{n:02d}@acme.test", role="member")
    everyone = Membership.objects.filter(organization=org).values_list("pk", flat=True)

    first = alice_client.get("/members/").content.decode()
    second = alice_client.get("/members/?page=2").content.decode()

    assert "Members 1–50 of 61" in first and 'href="?page=2"' in first
    shown = [int(pk) for pk in EDIT_MEMBER.findall(first + second)]
    assert sorted(shown) == sorted(everyone)  # each once, none lost between pages
    assert alice_client.get("/members/?page=x").status_code == 200


def test_the_teams_page_shows_fifty_a_page_in_tree_order(alice_client, org, sales):
    company = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    for n in range(55):
        actions.create_team(org=org, name=f"Squad {n:02d}", parent=company)

    first = alice_client.get("/teams/").content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = alice_client.get("/teams/?page=2").content.decode()

    assert "Teams 1–50 of 57" in first
    shown = [int(pk) for pk in TEAM_LINK.findall(first + second)]
    assert sorted(shown) == sorted(
        Team.objects.filter(organization=org).values_list("pk", flat=True)
    )
    assert shown[0] == company.pk
    assert (
        len(queries) == 7
    )  # the second page costs what the first does (with the menu badge)
