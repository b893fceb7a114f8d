"""landmark.lib.db: commits that do not wait for the disk, and back."""

import pytest
from django.db import connection

from landmark.lib.db import unsynced_commits


def durability() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
        else:
            cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_unsynced_commits_turn_the_wait_off_inside_and_back_on_after():
    before = durability()
    with unsynced_commits():
        inside = durability()
    assert inside == ("1" if connection.vendor == "sqlite" else "off")
    assert durability() == before
    assert before != inside


@pytest.mark.django_db
def test_inside_a_transaction_nothing_changes():
    before = durability()
    with unsynced_commits():
        assert durability() == before
