"""Comment threads on the objective and KPI pages, and each key result's own thread
(its page, also loaded inside the objective page): post, edit, delete.

With htmx, each answer is the thread fragment (comments/thread.html), swapped in
place; without JavaScript, each form posts and the browser is sent back to the item's
page (errors as a message there; editing has its own small page).
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from landmark.comments import actions
from landmark.comments.access import (
    get_comment_to_delete,
    get_comment_to_edit,
    may_delete,
    may_edit,
)
from landmark.comments.actions import Target
from landmark.comments.forms import CommentForm
from landmark.comments.mentions import body_html, mention_directory
from landmark.comments.models import Comment
from landmark.kpis.access import get_kpi_for_member
from landmark.kpis.models import KPI
from landmark.lib.http import is_partial
from landmark.okrs.access import get_key_result_for_member, get_objective_for_member
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs.access import member_required, membership_of, require_write
from landmark.orgs.models import Membership


def thread_context(
    membership: Membership,
    *,
    objective: Objective | None = None,
    key_result: KeyResult | None = None,
    kpi: KPI | None = None,
    form: CommentForm | None = None,
) -> dict[str, Any]:
    """What comments/thread.html shows: two queries on an objective (its comments,
    its key results), one on a key result or a KPI, whatever the number of comments.
    A key result's thread is its comments only, and its form posts to it."""
    key_results: list[KeyResult] = []
    thread_query = ""
    if key_result is not None:
        comments = (
            Target(objective=key_result.objective, key_result=key_result)
            .thread()
            .select_related("author")
        )
        post_url = reverse("key_result_comments", args=[key_result.pk])
        label = "key result"
        thread_query = "?thread=kr"
    elif objective is not None:
        comments = (
            Target(objective=objective).thread().select_related("author", "key_result")
        )
        key_results = key_results_of(objective)
        post_url = reverse("comment_objective", args=[objective.pk])
        label = "objective"
    elif kpi is not None:
        comments = Target(kpi=kpi).thread().select_related("author")
        post_url = reverse("comment_kpi", args=[kpi.pk])
        label = "KPI"
    else:
        raise ValueError("A thread is on an objective or on a KPI.")
    can_comment = membership.can_write
    if form is None and can_comment:
        form = CommentForm(key_results=key_results, auto_id=field_ids(key_result))
    rows = list(comments)
    # Mentions as links to the person's OKRs: one query for the whole thread.
    directory = mention_directory(membership.organization_id, (c.body for c in rows))
    tree = reverse("tree")
    return {
        "comments": [
            {
                "comment": c,
                "body": body_html(
                    c.body,
                    directory,
                    link=lambda m: f"{tree}?owner={m.user_id}",
                    me=membership.user_id,
                ),
                "can_edit": may_edit(membership, c),
                "can_delete": may_delete(membership, c),
            }
            for c in rows
        ],
        "comment_form": form if can_comment else None,
        "post_url": post_url,
        "item_label": label,
        "thread_id": thread_id(key_result),
        "thread_query": thread_query,
        "thread_key_result": key_result,
    }


def thread_id(key_result: KeyResult | None) -> str:
    """The thread section's HTML id: an objective page holds its own thread and,
    opened, its key results' threads."""
    return "comments" if key_result is None else f"kr-comments-{key_result.pk}"


def field_ids(key_result: KeyResult | None) -> str:
    """The form fields' ids: a key result's thread opens inside the objective page,
    beside the objective's thread and the comments being edited, so each form has
    its own (a label must point at its own box)."""
    return "id_%s" if key_result is None else f"id_kr{key_result.pk}_%s"


def thread_of(request: HttpRequest, comment: Comment) -> KeyResult | None:
    """The key result whose own thread an edit or delete came from (`?thread=kr`),
    so that the answer is that thread again, not the objective's."""
    if request.GET.get("thread") == "kr" and comment.key_result is not None:
        if comment.objective is not None:
            # The objective as the access helper gave it (no second query).
            comment.key_result.objective = comment.objective
        return comment.key_result
    return None


def item_path(comment: Comment, key_result: KeyResult | None = None) -> str:
    if key_result is not None:
        return reverse("key_result_comments", args=[key_result.pk])
    return Target.of(comment).path


def answer(
    request: HttpRequest,
    membership: Membership,
    *,
    objective: Objective | None,
    kpi: KPI | None,
    key_result: KeyResult | None = None,
    form: CommentForm | None = None,
    anchor: str = "",
) -> HttpResponse:
    if is_partial(request):
        return render(
            request,
            "comments/thread.html",
            thread_context(
                membership,
                objective=objective,
                key_result=key_result,
                kpi=kpi,
                form=form,
            ),
        )
    if form is not None and form.errors:
        messages.error(
            request,
            "The comment was not saved: "
            + "; ".join(str(e) for errors in form.errors.values() for e in errors),
        )
    if key_result is not None:
        path = reverse("key_result_comments", args=[key_result.pk])
    else:
        path = Target(objective=objective, kpi=kpi).path
    return redirect(f"{path}#{anchor or thread_id(key_result)}")


def post(
    request: HttpRequest,
    membership: Membership,
    *,
    objective: Objective | None = None,
    kpi: KPI | None = None,
    thread_key_result: KeyResult | None = None,
) -> HttpResponse:
    key_results = (
        key_results_of(objective)
        if objective is not None and thread_key_result is None
        else []
    )
    form = CommentForm(
        request.POST, key_results=key_results, auto_id=field_ids(thread_key_result)
    )
    if form.is_valid():
        on = form.cleaned_data.get("on")
        key_result = thread_key_result or next(
            (kr for kr in key_results if kr.pk == on), None
        )
        try:
            comment = actions.post_comment(
                target=Target(objective=objective, key_result=key_result, kpi=kpi),
                author=membership.user,
                body=form.cleaned_data["body"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return answer(
                request,
                membership,
                objective=objective,
                kpi=kpi,
                key_result=thread_key_result,
                anchor=f"comment-{comment.pk}",
            )
    return answer(
        request,
        membership,
        objective=objective,
        kpi=kpi,
        key_result=thread_key_result,
        form=form,
    )


@require_POST
@member_required
def comment_objective(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    require_write(membership)
    return post(request, membership, objective=objective)


@require_POST
@member_required
def comment_kpi(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    return post(request, membership, kpi=kpi)


@require_http_methods(["GET", "POST"])
@member_required
def key_result_comments(request: HttpRequest, pk: int) -> HttpResponse:
    """A key result's own thread: its page, or (htmx) the thread alone, as the
    objective page opens it under the key result; POST comments on it."""
    membership = membership_of(request)
    key_result = get_key_result_for_member(membership, pk)
    objective = key_result.objective
    if request.method == "POST":
        require_write(membership)
        return post(
            request, membership, objective=objective, thread_key_result=key_result
        )
    context = thread_context(membership, key_result=key_result)
    if is_partial(request):
        return render(request, "comments/thread.html", context)
    return render(
        request,
        "comments/key_result.html",
        {**context, "key_result": key_result, "objective": objective},
    )


@require_http_methods(["GET", "POST"])
@member_required
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    comment = get_comment_to_edit(membership, pk)
    objective, kpi = comment.objective, comment.kpi
    key_result = thread_of(request, comment)
    if request.method == "POST":
        form = CommentForm(request.POST, auto_id=f"id_comment{comment.pk}_%s")
        if form.is_valid():
            try:
                actions.edit_comment(
                    comment=comment,
                    editor=membership.user,
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return answer(
                    request,
                    membership,
                    objective=objective,
                    kpi=kpi,
                    key_result=key_result,
                    anchor=f"comment-{comment.pk}",
                )
    else:
        form = CommentForm(
            initial={"body": comment.body}, auto_id=f"id_comment{comment.pk}_%s"
        )
    template = (
        "comments/edit.html" if is_partial(request) else "comments/edit_page.html"
    )
    return render(
        request,
        template,
        {
            "comment": comment,
            "form": form,
            "back": item_path(comment, key_result),
            "thread_id": thread_id(key_result),
            "thread_query": "?thread=kr" if key_result else "",
        },
    )


@require_POST
@member_required
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    comment = get_comment_to_delete(membership, pk)
    objective, kpi = comment.objective, comment.kpi
    key_result = thread_of(request, comment)
    actions.delete_comment(comment=comment, actor=membership.user)
    if not is_partial(request):
        messages.success(request, "Comment deleted.")
    return answer(
        request, membership, objective=objective, kpi=kpi, key_result=key_result
    )


def key_results_of(objective: Objective) -> list[KeyResult]:
    """The objective's key results a comment may name (the form's choices)."""
    return list(
        KeyResult.objects.filter(
            organization_id=objective.organization_id, objective=objective
        ).only("pk", "title", "objective_id")
    )
