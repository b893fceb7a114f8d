"""Comment threads on objectives, key results and KPIs, through the web pages: post
(htmx and plain forms), edit and delete by whom the rules allow, @mentions that
notify once in the app and by email, privacy and tenancy, and the history lines."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.comments import actions
from landmark.comments.actions import Target
from landmark.comments.models import Comment, CommentEvent
from landmark.conftest import login, make_member
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.notify.models import Delivery, Notification
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective
from landmark.orgs.models import Membership, User

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def kpi(org, alice, sales) -> KPI:
    return kpi_actions.create_kpi(
        org=org,
        name="Deals won",
        owner=alice,
        team=sales,
        frequency=KPI.Frequency.MONTHLY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal("100"),
    )


@pytest.fixture
def dana(org) -> User:
    """A member in no team: may not open Sales' private items."""
    return make_member(org, "dana@acme.test", Membership.Role.MEMBER, "Dana Doe")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run a write with its after-commit sends (the emails go in this process)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def mentions_of(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="mention"))


def test_a_member_comments_on_an_objective_and_its_key_results(
    objective, key_results, bob, alice
):
    client = login(bob)
    url = reverse("comment_objective", args=[objective.pk])

    first = client.post(url, {"body": "Kick-off is Monday.\nBring numbers."}, **HTMX)
    second = client.post(
        url, {"body": "Two signed so far.", "on": key_results[0].pk}, **HTMX
    )

    assert first.status_code == second.status_code == 200
    html = second.content.decode()
    assert 'id="comments"' in html
    assert "Kick-off is Monday.<br>Bring numbers." in html
    assert f"on</span> <em>{key_results[0].title}</em>" in html
    page = login(alice).get(reverse("objective", args=[objective.pk])).content.decode()
    assert "Kick-off is Monday.<br>Bring numbers." in page
    assert "Two signed so far." in page
    assert "Bob Brown</strong> commented on objective" in page
    assert re.search(
        rf'commented on key result <em><a href="#comment-\d+">{re.escape(key_results[0].title)}</a></em>',
        page,
    )
    comment = Comment.objects.get(body="Two signed so far.")
    assert comment.key_result == key_results[0]
    assert comment.objective == objective


def test_a_comment_works_without_javascript(objective, bob):
    client = login(bob)

    response = client.post(
        reverse("comment_objective", args=[objective.pk]), {"body": "Plain form"}
    )

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("objective", args=[objective.pk]) + f"#comment-{comment.pk}"
    )
    page = client.get(response["Location"]).content.decode()
    assert f'id="comment-{comment.pk}"' in page


def test_a_member_comments_on_a_kpi_and_its_history_says_so(kpi, bob, alice):
    client = login(bob)

    response = client.post(
        reverse("comment_kpi", args=[kpi.pk]), {"body": "Why the dip?"}, **HTMX
    )

    assert "Why the dip?" in response.content.decode()
    page = login(alice).get(reverse("kpi", args=[kpi.pk])).content.decode()
    assert "Why the dip?" in page
    assert "<strong>Bob Brown</strong> commented on the KPI" in page


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Write something first."),
        ("   \n  ", "Write something first."),
        ("x" * 4001, "at most 4,000 characters (this one has 4001)"),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
def test_a_bad_comment_is_refused_next_to_the_field(objective, bob, body, error):
    response = login(bob).post(
        reverse("comment_objective", args=[objective.pk]), {"body": body}, **HTMX
    )

    html = response.content.decode()
    assert error in html
    assert 'class="error field-error"' in html
    assert not Comment.objects.exists()


def test_a_refused_comment_without_javascript_says_why(objective, bob):
    client = login(bob)
    response = client.post(
        reverse("comment_objective", args=[objective.pk]), {"body": ""}, follow=True
    )
    assert "The comment was not saved: Write something first." in (
        response.content.decode()
    )


def test_a_mention_notifies_in_the_app_and_by_email_once(objective, bob, alice, sent):
    client = login(bob)
    url = reverse("comment_objective", args=[objective.pk])

    sent(lambda: client.post(url, {"body": "@alice can you review?"}, **HTMX))

    [note] = mentions_of(alice)
    assert note.title == f"Bob Brown mentioned you on {objective.title}"
    assert note.body == "@alice can you review?"
    comment = Comment.objects.get()
    assert note.url.endswith(f"#comment-{comment.pk}")
    [email] = mail.outbox
    assert email.to == ["Alice Adams <alice@acme.test>"]
    assert "@alice can you review?" in email.body
    assert "Stop these emails" in email.body
    assert Delivery.objects.get(notification=note).status == Delivery.Status.SENT
    bell = login(alice).get(reverse("notifications")).content.decode()
    assert note.title in bell


def test_editing_to_add_a_mention_notifies_once(objective, bob, alice, sent):
    comment = actions.post_comment(
        target=Target(objective=objective), author=bob, body="Draft"
    )
    client = login(bob)
    url = reverse("comment_edit", args=[comment.pk])

    sent(lambda: client.post(url, {"body": "Draft, @alice please look"}, **HTMX))
    sent(lambda: client.post(url, {"body": "Draft, @alice please look"}, **HTMX))
    sent(lambda: client.post(url, {"body": "Final, @alice please look"}, **HTMX))

    assert len(mentions_of(alice)) == 1
    assert len(mail.outbox) == 1
    comment.refresh_from_db()
    assert comment.body == "Final, @alice please look"
    assert comment.edited_at is not None
    actions_seen = list(
        CommentEvent.objects.order_by("at", "pk").values_list("action", flat=True)
    )
    # Saving the same text again is no edit.
    assert actions_seen == ["created", "edited", "edited"]


def test_mentioning_a_non_member_or_oneself_tells_nobody(objective, bob, charlie, sent):
    sent(
        lambda: actions.post_comment(
            target=Target(objective=objective),
            author=bob,
            body="@charlie @charlie@other.test @nobody @bob mail bob@acme.test",
        )
    )

    assert not Notification.objects.filter(kind="mention").exists()
    assert mail.outbox == []


def test_an_ambiguous_handle_is_refused_with_the_full_addresses(objective, bob, org):
    make_member(org, "alice@elsewhere.test", Membership.Role.MEMBER, "Alice Else")

    response = login(bob).post(
        reverse("comment_objective", args=[objective.pk]),
        {"body": "@alice what do you think?"},
        **HTMX,
    )

    assert (
        "@alice could be several people here: write @alice@acme.test or "
        "@alice@elsewhere.test." in response.content.decode()
    )
    assert not Comment.objects.exists()
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="@alice@elsewhere.test hi"
    )
    [note] = Notification.objects.filter(kind="mention")
    assert note.recipient.email == "alice@elsewhere.test"


def test_mentioning_someone_who_may_not_open_a_private_objective_is_refused(
    objective, bob, dana, alice
):
    okr_actions.update_objective(
        objective=objective, visibility=Objective.Visibility.PRIVATE
    )

    response = login(bob).post(
        reverse("comment_objective", args=[objective.pk]),
        {"body": "@dana secret plans"},
        **HTMX,
    )

    assert "Dana Doe may not open this private objective" in response.content.decode()
    assert not Comment.objects.exists()
    assert not Notification.objects.exists()
    # Admins may open every private item: mentioning Alice is fine.
    actions.post_comment(
        target=Target(objective=objective), author=bob, body="@alice secret plans"
    )
    assert len(mentions_of(alice)) == 1


def test_a_private_thread_is_a_404_for_who_may_not_open_it(objective, bob, dana):
    okr_actions.update_objective(
        objective=objective, visibility=Objective.Visibility.PRIVATE
    )
    comment = actions.post_comment(
        target=Target(objective=objective), author=bob, body="Only for Sales"
    )
    client = login(dana)

    assert client.get(reverse("objective", args=[objective.pk])).status_code == 404
    assert (
        client.post(
            reverse("comment_objective", args=[objective.pk]), {"body": "hi"}
        ).status_code
        == 404
    )
    assert client.get(reverse("comment_edit", args=[comment.pk])).status_code == 404
    assert client.post(reverse("comment_delete", args=[comment.pk])).status_code == 404
    assert Comment.objects.count() == 1


def test_another_organization_gets_404(objective, kpi, bob, charlie_client):
    comment = actions.post_comment(
        target=Target(objective=objective), author=bob, body="Ours"
    )
    urls = [
        reverse("comment_objective", args=[objective.pk]),
        reverse("comment_kpi", args=[kpi.pk]),
        reverse("comment_delete", args=[comment.pk]),
        reverse("comment_edit", args=[comment.pk]),
    ]
    for url in urls:
        assert charlie_client.post(url, {"body": "Theirs"}).status_code == 404
    assert list(Comment.objects.values_list("body", flat=True)) == ["Ours"]


def test_only_the_author_edits_and_the_author_or_an_admin_deletes(
    objective, bob, alice, viewer, org
):
    comment = actions.post_comment(
        target=Target(objective=objective), author=bob, body="Mine"
    )
    tina = make_member(org, "tina@acme.test", Membership.Role.MEMBER, "Tina Lead")
    edit = reverse("comment_edit", args=[comment.pk])
    delete = reverse("comment_delete", args=[comment.pk])

    assert login(alice).post(edit, {"body": "Admin's"}).status_code == 403
    assert login(tina).post(edit, {"body": "Tina's"}).status_code == 403
    assert login(tina).post(delete).status_code == 403
    assert login(viewer).post(delete).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Mine"
    # The page offers each what they may do.
    bobs = login(bob).get(reverse("objective", args=[objective.pk])).content.decode()
    assert edit in bobs and delete in bobs
    tinas = login(tina).get(reverse("objective", args=[objective.pk])).content.decode()
    assert edit not in tinas and delete not in tinas
    admins = (
        login(alice).get(reverse("objective", args=[objective.pk])).content.decode()
    )
    assert edit not in admins and delete in admins
    viewers = login(viewer).get(reverse("objective", args=[objective.pk]))
    assert "Mine" in viewers.content.decode()
    assert 'class="comment-form"' not in viewers.content.decode()

    response = login(alice).post(delete, **HTMX)

    assert "Mine" not in response.content.decode()
    assert not Comment.objects.exists()
    page = login(bob).get(reverse("objective", args=[objective.pk])).content.decode()
    assert "Alice Adams</strong> deleted a comment on objective" in page


def test_the_edit_page_works_without_javascript(kpi, bob):
    comment = actions.post_comment(target=Target(kpi=kpi), author=bob, body="Old")
    client = login(bob)
    url = reverse("comment_edit", args=[comment.pk])

    form = client.get(url).content.decode()
    response = client.post(url, {"body": "New"})

    assert "Edit your comment" in form and "Old</textarea>" in form
    assert response["Location"] == reverse("kpi", args=[kpi.pk]) + (
        f"#comment-{comment.pk}"
    )
    page = client.get(reverse("kpi", args=[kpi.pk])).content.decode()
    assert "New" in page and "edited a comment on the KPI" in page


def test_a_viewer_reads_but_may_not_comment(objective, viewer):
    response = login(viewer).post(
        reverse("comment_objective", args=[objective.pk]), {"body": "Hi"}
    )
    assert response.status_code == 403
    assert not Comment.objects.exists()


def test_comment_text_is_escaped(objective, bob):
    response = login(bob).post(
        reverse("comment_objective", args=[objective.pk]),
        {"body": "<script>alert(1)</script>"},
        **HTMX,
    )
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_pages_query_count_does_not_grow_with_comments(
    objective, key_results, kpi, bob, alice, django_assert_num_queries
):
    client = login(alice)
    pages = [reverse("objective", args=[objective.pk]), reverse("kpi", args=[kpi.pk])]

    def post_some(n: int) -> None:
        for i in range(n):
            actions.post_comment(
                target=Target(objective=objective, key_result=key_results[i % 3]),
                author=bob,
                body=f"On a key result {i}",
            )
            actions.post_comment(
                target=Target(kpi=kpi), author=bob, body=f"On the KPI {i}"
            )

    post_some(1)
    counts = []
    for page in pages:
        client.get(page)  # warm the session and caches
        with CaptureQueriesContext(connection) as queries:
            client.get(page)
        counts.append(len(queries))
    post_some(6)

    for page, count in zip(pages, counts, strict=True):
        with django_assert_num_queries(count):
            response = client.get(page)
        assert "On a key result 5" in response.content.decode() or (
            "On the KPI 5" in response.content.decode()
        )
