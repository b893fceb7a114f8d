"""Webhook pages (Settings → Webhooks): admins list, create, change, delete webhooks,
read each one's delivery log and send a delivery again."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from landmark.hooks import actions
from landmark.hooks.access import (
    get_delivery_for_admin,
    get_webhook_for_admin,
    webhooks_of,
)
from landmark.hooks.forms import WebhookForm
from landmark.hooks.models import EVENTS, WebhookDelivery
from landmark.hooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from landmark.lib.forms import run_action
from landmark.orgs.access import member_required, membership_of

LOG_PAGE = 25
# The session key holding a new webhook's secret until its page shows it once.
NEW_SECRET_SESSION = "hooks.new_secret"  # noqa: S105  # a session key
HEADERS = {
    "signature": SIGNATURE_HEADER,
    "timestamp": TIMESTAMP_HEADER,
    "event": EVENT_HEADER,
    "delivery": DELIVERY_HEADER,
}


@require_http_methods(["GET", "POST"])
@member_required
def webhooks(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    rows = webhooks_of(membership)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        made = run_action(
            form,
            actions.create_webhook,
            org=membership.organization,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
            created_by=membership.user,
        )
        if made is not None:
            webhook, secret = made
            # Shown once, on the next page, then gone: Landmark keeps it encrypted.
            request.session[NEW_SECRET_SESSION] = [webhook.pk, secret]
            return redirect("webhook_detail", webhook.pk)
    return render(
        request,
        "hooks/webhooks.html",
        {"form": form, "webhooks": list(rows), "events": EVENTS},
    )


@require_http_methods(["GET", "POST"])
@member_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    webhook = get_webhook_for_admin(membership, pk)
    form = WebhookForm(
        request.POST or None,
        editing=True,
        initial={
            "url": webhook.url,
            "description": webhook.description,
            "events": webhook.events,
            "is_active": webhook.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = run_action(
                form,
                actions.update_webhook,
                webhook=webhook,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                is_active=form.cleaned_data["is_active"],
            )
        if saved is not None:
            messages.success(request, "Webhook saved.")
            return redirect("webhook_detail", webhook.pk)
        webhook.refresh_from_db()  # nothing half-saved
    secret = None
    kept = request.session.get(NEW_SECRET_SESSION)
    if kept and kept[0] == webhook.pk:
        secret = request.session.pop(NEW_SECRET_SESSION)[1]
    log = (
        WebhookDelivery.objects.filter(webhook=webhook)
        .prefetch_related("log")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(log, LOG_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "hooks/webhook_detail.html",
        {
            "webhook": webhook,
            "form": form,
            "page": page,
            "events": EVENTS,
            "secret": secret,
            "headers": HEADERS,
        },
    )


@require_POST
@member_required
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    webhook = get_webhook_for_admin(membership, pk)
    actions.delete_webhook(webhook=webhook)
    messages.success(request, f"Webhook to {webhook.url} deleted.")
    return redirect("webhooks")


@require_POST
@member_required
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    delivery = get_delivery_for_admin(membership, pk)
    try:
        actions.redeliver(delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Sent again: the result appears in the log below.")
    return redirect("webhook_detail", delivery.webhook_id)
