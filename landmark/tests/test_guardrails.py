"""Guard rails that run with the normal suite."""

import re
from io import StringIO
from pathlib import Path

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


def test_no_file_holds_a_merge_conflict_marker():
    """A conflict left in a stylesheet once dropped every rule after it, silently:
    no tool complains about CSS, a template or a doc, so this test does."""
    root = Path(__file__).resolve().parents[2]
    marker = re.compile(rb"^(<{7} |>{7} |={7}$)", re.MULTILINE)
    files = [p for p in root.iterdir() if p.is_file()] + [
        p
        for folder in ("landmark", "docs", "bench", "bin", ".ci")
        for p in (root / folder).rglob("*")
        if p.is_file() and "vendor" not in p.parts and "__pycache__" not in p.parts
    ]
    assert len(files) > 100
    found = [str(p.relative_to(root)) for p in files if marker.search(p.read_bytes())]
    assert found == []
