"""A key result's thread in a real headless Chromium: opened in place under the key
result on the objective page (htmx), commented on, edited and deleted there, without
the objective's own thread being swapped into it; mentions shown as links."""

import pytest
from playwright.sync_api import Page, expect

from landmark.comments import actions
from landmark.comments.actions import Target
from landmark.comments.models import Comment
from landmark.tests.test_browser import log_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_key_results_thread_opens_in_place_and_keeps_to_its_key_result(
    live_server, page: Page, bob, alice, objective, key_results
) -> None:
    kr = key_results[0]
    actions.post_comment(
        target=Target(objective=objective), author=alice, body="On the objective"
    )
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete this comment?"
    log_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/objectives/{objective.pk}/")
    row = page.locator(f"#kr-{kr.pk}")

    row.get_by_text("Comments on this key result").click()
    thread = row.locator(f"#kr-comments-{kr.pk}")
    expect(thread.get_by_text("No comments yet.")).to_be_visible()
    thread.get_by_label("Comment").fill("Two signed, @alice please check")
    thread.get_by_role("button", name="Comment").click()

    body = thread.locator(".comment-body")
    expect(body).to_have_text("Two signed, @alice please check")
    expect(body.get_by_role("link", name="@alice")).to_have_attribute(
        "href", f"/okrs/?owner={alice.pk}"
    )
    expect(thread).not_to_contain_text("On the objective")
    assert page.url.endswith(f"/objectives/{objective.pk}/")  # no page load

    thread.get_by_role("link", name="Edit").click()
    editing = thread.locator(".comment.editing")
    editing.get_by_label("Comment").fill("Three signed")
    editing.get_by_role("button", name="Save").click()
    expect(thread.locator(".comment-body")).to_have_text("Three signed")
    expect(thread).not_to_contain_text("On the objective")

    thread.get_by_role("button", name="Delete").click()
    expect(thread.get_by_text("No comments yet.")).to_be_visible()
    # The objective's own thread is still whole, below.
    expect(page.locator("#comments")).to_contain_text("On the objective")
    assert list(Comment.objects.values_list("body", flat=True)) == ["On the objective"]
