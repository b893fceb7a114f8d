"""A key result's own thread: its page (/key-results/<id>/comments/), the same thread
opened under the key result on the objective page (htmx), posting, editing and
deleting within it, privacy and tenancy."""

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.comments import actions
from landmark.comments.actions import Target
from landmark.comments.models import Comment
from landmark.conftest import login, make_member
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective
from landmark.orgs.models import Membership

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def test_the_objective_page_opens_each_key_results_thread(objective, key_results, bob):
    page = login(bob).get(reverse("objective", args=[objective.pk])).content.decode()

    for kr in key_results:
        url = reverse("key_result_comments", args=[kr.pk])
        # An htmx expandable under the key result, with a link for no JavaScript.
        assert f'hx-get="{url}" hx-trigger="toggle once"' in page
        assert f'<a href="{url}">' in page


def test_a_key_results_thread_shows_only_its_comments(objective, key_results, bob):
    first, second = key_results[0], key_results[1]
    actions.post_comment(
        target=Target(objective=objective, key_result=first),
        author=bob,
        body="Two signed so far.",
    )
    actions.post_comment(
        target=Target(objective=objective, key_result=second),
        author=bob,
        body="Uptime dipped on Tuesday.",
    )
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="Kick-off Monday."
    )
    client = login(bob)

    page = client.get(reverse("key_result_comments", args=[first.pk])).content.decode()
    fragment = client.get(
        reverse("key_result_comments", args=[first.pk]), **HTMX
    ).content.decode()

    assert f"<h1>{first.title}</h1>" in page
    assert reverse("objective", args=[objective.pk]) in page
    for html in (page, fragment):
        assert f'id="kr-comments-{first.pk}"' in html
        assert "Two signed so far." in html
        assert "Uptime dipped" not in html and "Kick-off Monday." not in html
    assert "<h1>" not in fragment  # the thread alone, for the objective page
    # The objective's own thread still holds all three.
    whole = client.get(reverse("objective", args=[objective.pk])).content.decode()
    assert "Two signed so far." in whole and "Uptime dipped" in whole


def test_a_member_comments_on_a_key_result_from_its_thread(
    objective, key_results, bob, alice
):
    kr = key_results[1]
    url = reverse("key_result_comments", args=[kr.pk])

    response = login(bob).post(url, {"body": "Fixed the alerting. @alice"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<section id="kr-comments-{kr.pk}"' in html
    assert f'hx-target="#kr-comments-{kr.pk}"' in html
    comment = Comment.objects.get()
    assert comment.key_result == kr and comment.objective == objective
    # No "On" choice: the thread is the key result's.
    assert 'name="on"' not in html


def test_without_javascript_posting_returns_to_the_key_results_page(
    objective, key_results, bob
):
    kr = key_results[0]
    url = reverse("key_result_comments", args=[kr.pk])

    done = login(bob).post(url, {"body": "Plain form"})
    refused = login(bob).post(url, {"body": "   "})

    comment = Comment.objects.get()
    assert done["Location"] == f"{url}#comment-{comment.pk}"
    assert refused["Location"] == f"{url}#kr-comments-{kr.pk}"
    assert Comment.objects.count() == 1


def test_a_refused_comment_is_shown_next_to_the_field_in_the_thread(
    objective, key_results, bob
):
    kr = key_results[0]
    response = login(bob).post(
        reverse("key_result_comments", args=[kr.pk]), {"body": "x" * 5001}, **HTMX
    )
    html = response.content.decode()
    assert "A comment holds at most" in html and "field-error" in html
    assert f'id="kr-comments-{kr.pk}"' in html
    assert not Comment.objects.exists()


def test_editing_and_deleting_inside_a_key_results_thread_answers_that_thread(
    objective, key_results, bob
):
    kr = key_results[0]
    comment = actions.post_comment(
        target=Target(objective=objective, key_result=kr), author=bob, body="Old"
    )
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="On the objective"
    )
    client = login(bob)
    thread = client.get(
        reverse("key_result_comments", args=[kr.pk]), **HTMX
    ).content.decode()
    edit = reverse("comment_edit", args=[comment.pk]) + "?thread=kr"
    delete = reverse("comment_delete", args=[comment.pk]) + "?thread=kr"
    assert f'hx-get="{edit}"' in thread and f'hx-post="{delete}"' in thread

    form = client.get(edit, **HTMX).content.decode()
    edited = client.post(edit, {"body": "New"}, **HTMX).content.decode()
    plain = client.post(edit, {"body": "Newer"})
    deleted = client.post(delete, **HTMX).content.decode()

    assert f'hx-target="#kr-comments-{kr.pk}"' in form
    assert f'id="kr-comments-{kr.pk}"' in edited and "New" in edited
    assert "On the objective" not in edited
    assert plain["Location"] == (
        reverse("key_result_comments", args=[kr.pk]) + f"#comment-{comment.pk}"
    )
    assert f'id="kr-comments-{kr.pk}"' in deleted and "Newer" not in deleted
    assert list(Comment.objects.values_list("body", flat=True)) == ["On the objective"]


def test_a_viewer_reads_a_key_results_thread_but_may_not_post(
    objective, key_results, bob, viewer
):
    kr = key_results[0]
    actions.post_comment(
        target=Target(objective=objective, key_result=kr), author=bob, body="Hi all"
    )
    url = reverse("key_result_comments", args=[kr.pk])
    client = login(viewer)

    page = client.get(url).content.decode()
    refused = client.post(url, {"body": "Me too"})

    assert "Hi all" in page and 'class="comment-form"' not in page
    assert refused.status_code == 403
    assert Comment.objects.count() == 1


def test_a_private_objectives_key_result_thread_is_a_404_for_who_may_not_see_it(
    objective, key_results, bob, org
):
    okr_actions.update_objective(
        objective=objective, visibility=Objective.Visibility.PRIVATE
    )
    kr = key_results[0]
    actions.post_comment(
        target=Target(objective=objective, key_result=kr), author=bob, body="Secret"
    )
    dana = make_member(org, "dana@acme.test", Membership.Role.MEMBER, "Dana Doe")
    url = reverse("key_result_comments", args=[kr.pk])
    client = login(dana)

    assert client.get(url).status_code == 404
    assert client.get(url, **HTMX).status_code == 404
    assert client.post(url, {"body": "Let me in"}).status_code == 404
    assert login(bob).get(url).status_code == 200  # the owner's team sees it
    assert Comment.objects.count() == 1


def test_another_organizations_key_result_thread_is_a_404(
    objective, key_results, bob, charlie_client
):
    kr = key_results[0]
    actions.post_comment(
        target=Target(objective=objective, key_result=kr), author=bob, body="Ours"
    )
    url = reverse("key_result_comments", args=[kr.pk])

    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, {"body": "Theirs"}).status_code == 404
    assert list(Comment.objects.values_list("body", flat=True)) == ["Ours"]


def test_the_threads_query_count_does_not_grow_with_comments(
    objective, key_results, bob, alice, django_assert_num_queries
):
    kr = key_results[0]
    url = reverse("key_result_comments", args=[kr.pk])
    client = login(alice)

    def post_some(n: int) -> None:
        for i in range(n):
            actions.post_comment(
                target=Target(objective=objective, key_result=kr),
                author=bob if i % 2 else alice,
                body=f"Note {i}",
            )

    post_some(1)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    post_some(6)

    with django_assert_num_queries(len(queries)):
        response = client.get(url)
    assert "Note 5" in response.content.decode()


def test_each_form_on_the_objective_page_has_its_own_field_ids(
    objective, key_results, bob
):
    kr = key_results[0]
    comment = actions.post_comment(
        target=Target(objective=objective, key_result=kr), author=bob, body="Hi"
    )
    client = login(bob)

    page = client.get(reverse("objective", args=[objective.pk])).content.decode()
    thread = client.get(
        reverse("key_result_comments", args=[kr.pk]), **HTMX
    ).content.decode()
    edit = client.get(
        reverse("comment_edit", args=[comment.pk]) + "?thread=kr", **HTMX
    ).content.decode()

    assert 'for="id_body"' in page and 'id="id_body"' in page
    assert f'for="id_kr{kr.pk}_body"' in thread and f'id="id_kr{kr.pk}_body"' in thread
    assert 'id="id_body"' not in thread
    assert f'id="id_comment{comment.pk}_body"' in edit and 'id="id_body"' not in edit
