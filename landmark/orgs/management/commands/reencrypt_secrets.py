"""`landmark manage reencrypt_secrets`: after a new key was put first in
ENCRYPTION_KEYS, encrypt every stored secret again with it, so the old keys can go."""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from landmark.lib.encryption import Sealed, SealedField, Unreadable, reencrypt


class Command(BaseCommand):
    help = (
        "Encrypt every stored secret (every SealedField of every model) again with "
        "the newest key in ENCRYPTION_KEYS. All or nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = 0
        with transaction.atomic():
            for model in apps.get_models():
                for field in model._meta.get_fields():
                    if not isinstance(field, SealedField):
                        continue
                    rows = (
                        model._default_manager.select_for_update()
                        .filter(**{f"{field.name}__isnull": False})
                        .values_list("pk", field.name)
                        .order_by("pk")
                    )
                    for pk, sealed in rows:
                        try:
                            fresh = Sealed(reencrypt(sealed.token))
                        except Unreadable as error:
                            raise CommandError(
                                f"{model._meta.label} {pk}: {field.name} cannot be "
                                "decrypted with any key in ENCRYPTION_KEYS (nor the "
                                "one derived from SECRET_KEY); nothing was changed."
                            ) from error
                        # An UPDATE, not save(): no signal, no audit-history row.
                        model._default_manager.filter(pk=pk).update(
                            **{field.name: fresh}
                        )
                        done += 1
        self.stdout.write(f"Re-encrypted {done} secret(s) with the newest key.")
