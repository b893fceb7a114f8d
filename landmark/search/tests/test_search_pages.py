"""The search box, its results page and dropdown, and GET /api/v1/search."""

from urllib.parse import quote

import pytest
from django.urls import reverse

from landmark.api.tests.conftest import api_client
from landmark.conftest import login
from landmark.search.tests.test_search import HOSTILE

URL = reverse("search")


def test_every_page_has_the_box(alice_client):
    html = alice_client.get(reverse("focus")).content.decode()
    assert 'id="search"' in html and 'name="q"' in html
    assert f'action="{URL}"' in html and f'hx-get="{URL}"' in html


def test_the_page_without_a_query_shows_the_form_only(alice_client):
    response = alice_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="search-page-q"' in html and "search-group" not in html


def test_the_page_groups_results_by_kind_with_links(world, alice_client):
    html = alice_client.get(URL, {"q": "globex"}).content.decode()
    assert "<h2>Objectives</h2>" in html and "<h2>KPIs</h2>" in html
    assert "<h2>Teams</h2>" not in html
    objective, kpi = world["secret_objective"], world["secret_kpi"]
    assert f'href="{reverse("objective", args=[objective.pk])}">Acquire Globex' in html
    assert f'href="{reverse("kpi", args=[kpi.pk])}">Globex takeover runway' in html
    # A key result links to its row on its objective's page.
    html = alice_client.get(URL, {"q": "zeph"}).content.decode()
    kr = world["key_result"]
    assert f'href="/objectives/{kr.objective_id}/#kr-{kr.pk}"' in html


def test_the_page_says_when_nothing_matches_and_why_a_query_is_refused(
    world, alice_client
):
    html = alice_client.get(URL, {"q": "xylophone"}).content.decode()
    assert "Nothing you can open matches “xylophone”" in html
    html = alice_client.get(URL, {"q": "***"}).content.decode()
    assert 'aria-invalid="true"' in html and "Type a word" in html
    html = alice_client.get(URL, {"q": "x" * 1000}).content.decode()
    assert "at most 200 characters" in html


def test_the_dropdown_is_a_fragment_with_a_link_to_every_result(world, alice_client):
    response = alice_client.get(URL, {"q": "glob"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "Acquire Globex secretly" in html
    assert f'href="{URL}?q=glob"' in html
    empty = alice_client.get(URL, {"q": ""}, headers={"HX-Request": "true"})
    assert empty.content.decode().strip() == ""  # an empty box closes the dropdown


def test_a_member_who_may_not_open_it_never_sees_a_private_title(world, bob):
    client = login(bob)
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(URL, {"q": "globex"}, headers=headers).content.decode()
        assert "Globex" not in html.replace("globex", "")  # only the query itself
        assert "takeover" not in html


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_get_an_answer(world, alice_client, q):
    response = alice_client.get(f"{URL}?q={quote(q)}")
    assert response.status_code == 200


def test_an_outsider_is_sent_to_log_in(client):
    response = client.get(URL, {"q": "deals"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


# API


def test_the_api_finds_by_kind_with_ids_and_links(world, alice):
    body = api_client(alice).get("/api/v1/search", {"q": "globex"}).json()
    assert body["q"] == "globex"
    groups = {g["kind"]: g for g in body["groups"]}
    assert list(groups) == [
        "objective",
        "key_result",
        "initiative",
        "kpi",
        "team",
        "person",
    ]
    assert groups["objective"]["items"] == [
        {
            "id": world["secret_objective"].pk,
            "title": "Acquire Globex secretly",
            "url": reverse("objective", args=[world["secret_objective"].pk]),
            "context": world["secret_objective"].period.name,
        }
    ]
    assert [i["title"] for i in groups["kpi"]["items"]] == ["Globex takeover runway"]
    assert groups["team"] == {
        "kind": "team",
        "label": "Teams",
        "items": [],
        "more": False,
    }


def test_the_api_filters_by_kind_and_limits(world, alice):
    client = api_client(alice)
    body = client.get("/api/v1/search", {"q": "glob", "kind": "kpi"}).json()
    assert [g["kind"] for g in body["groups"]] == ["kpi"]
    body = client.get("/api/v1/search", {"q": "acme", "limit": "1"}).json()
    people = next(g for g in body["groups"] if g["kind"] == "person")
    assert len(people["items"]) == 1 and people["more"] is True


def test_the_api_keeps_private_rows_and_other_organizations_out(
    world, bob, charlie, other_org
):
    body = api_client(bob).get("/api/v1/search", {"q": "globex"}).json()
    assert all(g["items"] == [] and not g["more"] for g in body["groups"])
    body = api_client(charlie).get("/api/v1/search", {"q": "bob"}).json()
    assert all(g["items"] == [] for g in body["groups"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 1000}, "q"),
        ({"q": "*-\"'"}, "q"),
        ({"q": "deals", "kind": "everything"}, "kind"),
        ({"q": "deals", "limit": "0"}, "limit"),
        ({"q": "deals", "limit": "51"}, "limit"),
    ],
)
def test_bad_input_is_a_problem_naming_its_field(world, alice, params, field):
    response = api_client(alice).get("/api/v1/search", params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_the_api_asks_for_a_token(client):
    response = client.get("/api/v1/search", {"q": "deals"})
    assert response.status_code == 401
