"""Guard rails that run with the normal suite."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_it_has_a_migration_for_every_model_change():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


def test_it_passes_the_system_checks():
    out = StringIO()
    # Raises SystemCheckError, listing the messages, on any warning or error.
    call_command("check", "--fail-level", "WARNING", stdout=out)
    assert "no issues" in out.getvalue()
