"""@mentions in a shown comment: each mention of a member is a link to their OKRs
(the OKR tree filtered by owner), marked as a mention, more strongly for the reader;
everything else is escaped text, whatever the comment or the member's name holds."""

import re
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.comments import actions
from landmark.comments.actions import Target
from landmark.comments.mentions import body_html, mention_directory
from landmark.conftest import login, make_member
from landmark.orgs.models import Membership

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def body_of(html: str, text: str) -> str:
    """The comment-body div that holds `text`."""
    for found in re.findall(r'<div class="comment-body">(.*?)</div>', html, re.S):
        if text in found:
            return str(found)
    raise AssertionError(f"No comment with {text!r} in the page")


def test_a_mention_of_a_member_is_a_link_to_their_okrs(objective, bob, alice):
    actions.post_comment(
        target=Target(objective=objective),
        author=bob,
        body="Thanks @alice, and @nobody.\nSee sam@acme.test too.",
    )

    page = login(bob).get(reverse("objective", args=[objective.pk])).content.decode()
    body = body_of(page, "Thanks")

    link = f"{reverse('tree')}?owner={alice.pk}"
    assert body == (
        f'Thanks <a class="mention" href="{link}" title="Alice Adams">@alice</a>, '
        "and @nobody.<br>See sam@acme.test too."
    )


def test_a_mention_of_the_reader_stands_out(objective, bob, alice):
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="@alice can you check?"
    )
    url = reverse("objective", args=[objective.pk])

    alices = body_of(login(alice).get(url).content.decode(), "can you check")
    bobs = body_of(login(bob).get(url).content.decode(), "can you check")

    assert 'class="mention mention-me"' in alices and 'title="You"' in alices
    assert "mention-me" not in bobs and 'class="mention"' in bobs


def test_a_hostile_comment_and_a_hostile_name_stay_text(objective, bob, org):
    eve = make_member(
        org,
        "eve@acme.test",
        Membership.Role.MEMBER,
        '"><img src=x onerror=alert(1)>',
    )
    hostile = (
        '<script>alert(1)</script> @eve"><b>x</b> '
        "@bob<img src=x onerror=alert(2)> &amp; @eve@acme.test'"
    )

    response = login(bob).post(
        reverse("comment_objective", args=[objective.pk]), {"body": hostile}, **HTMX
    )
    body = body_of(response.content.decode(), "alert(1)")

    assert "<script>" not in body and "<img" not in body and "<b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&amp;amp;" in body  # the typed "&amp;" is text, shown as typed
    assert body.count('class="mention"') == 2  # @eve, @eve@acme.test
    assert body.count(f"?owner={eve.pk}") == 2
    assert 'class="mention mention-me"' in body  # @bob, the reader
    # The member's name is an attribute's escaped text, never markup.
    assert 'title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in body
    assert body.endswith("&#x27;")


def test_an_ambiguous_or_former_members_handle_is_not_linked(objective, bob, org):
    sam = make_member(org, "sam@acme.test", Membership.Role.MEMBER, "Sam One")
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="Ping @sam and @dan"
    )
    make_member(org, "sam@example.org", Membership.Role.MEMBER, "Sam Two")
    dan = make_member(org, "dan@acme.test", Membership.Role.MEMBER, "Dan Gone")
    Membership.objects.filter(user=dan).update(is_active=False)

    page = login(bob).get(reverse("objective", args=[objective.pk])).content.decode()

    assert body_of(page, "Ping") == "Ping @sam and @dan"
    assert f"?owner={sam.pk}" not in body_of(page, "Ping")


def test_the_directory_is_one_query_and_none_without_mentions(
    org, bob, alice, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert mention_directory(org.pk, ["no mentions", "mail a@b.c"]) == {}
    with django_assert_num_queries(1):
        found = mention_directory(org.pk, ["@alice", "@BOB and @bob@acme.test"])
    assert {h: m.user_id for h, m in found.items()} == {
        "alice": alice.pk,
        "bob": bob.pk,
        "bob@acme.test": bob.pk,
    }


def test_body_html_keeps_the_trailing_full_stop_out_of_the_link(org, alice):
    directory = mention_directory(org.pk, ["Done, @alice."])

    html = body_html("Done, @alice.", directory, link=lambda m: "/p", me=None)

    assert html == 'Done, <a class="mention" href="/p" title="Alice Adams">@alice</a>.'


def test_more_mentions_of_more_people_cost_no_more_queries(
    objective, bob, org, django_assert_num_queries
):
    url = reverse("objective", args=[objective.pk])
    client = login(bob)

    def mention_someone(n: int) -> None:
        make_member(org, f"p{n}@acme.test", Membership.Role.MEMBER, f"Person {n}")
        actions.post_comment(
            target=Target(objective=objective), author=bob, body=f"Hi @p{n}"
        )

    mention_someone(0)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    for n in range(1, 6):
        mention_someone(n)

    with django_assert_num_queries(len(queries)):
        page = client.get(url).content.decode()
    assert page.count('class="mention"') == 6
