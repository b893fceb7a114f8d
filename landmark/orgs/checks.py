"""System checks for how Landmark is deployed (`landmark manage check --deploy`, and
`landmark serve` before it starts)."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Mail backends that never reach anybody's mailbox, and what they do instead.
UNDELIVERED = {
    "django.core.mail.backends.console.EmailBackend": "prints every message into the server's log",
    "django.core.mail.backends.dummy.EmailBackend": "throws every message away",
    "django.core.mail.backends.locmem.EmailBackend": "keeps every message in the web process's memory",
}


@register(Tags.security, deploy=True)
def check_email_reaches_people(
    *,
    app_configs: Sequence[AppConfig] | None,
    databases: Sequence[str] | None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """In production (HTTPS=1) mail must be delivered: verification, password-reset and
    invitation links are credentials, and in the log anyone who reads it could use them."""
    what = UNDELIVERED.get(settings.EMAIL_BACKEND)
    if not getattr(settings, "HTTPS", False) or what is None:
        return []
    return [
        Error(
            f"HTTPS=1 (production) with EMAIL_BACKEND={settings.EMAIL_BACKEND}, which "
            f"{what}: sign-up verification, password-reset and invitation links would "
            "never reach people, and anyone who reads the log could use them.",
            hint=(
                "Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with "
                "EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                "EMAIL_USE_TLS and DEFAULT_FROM_EMAIL (see docs/operators.md, “Email”)."
            ),
            id="landmark.E002",
        )
    ]
