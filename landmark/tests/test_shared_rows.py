"""landmark.conftest.shared_rows: rows made once for a module's tests, which every test
finds exactly as they were made, whatever the tests before it wrote, in any order."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.utils import timezone

from landmark.conftest import make_alice, make_org, moment, shared_rows
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Organization, Team, User


@pytest.fixture(scope="module")
def acme(django_db_setup, django_db_blocker) -> Iterator[int]:
    yield from shared_rows(django_db_blocker, lambda: make_org(make_alice()).pk)


@pytest.mark.parametrize("n", range(4))
def test_each_test_finds_the_rows_as_made_whatever_the_others_wrote(acme, db, n):
    org = Organization.objects.get(pk=acme)
    assert list(Organization.objects.values_list("pk", flat=True)) == [acme]
    assert org.name == "Acme Test"
    assert list(
        Team.objects.filter(organization=org).values_list("kind", flat=True)
    ) == [Team.Kind.COMPANY]

    # Each test writes; the next one must not see it.
    org.name = f"Renamed by test {n}"
    org.save(update_fields=["name"])
    root = Team.objects.get(organization=org)
    org_actions.create_team(
        org=org, name=f"Team {n}", kind=Team.Kind.DEPARTMENT, parent=root
    )
    org_actions.create_organization(name=f"Another {n}", owner=User.objects.get())


def test_the_rows_are_made_at_the_tests_moment_with_the_suites_settings(acme, db):
    org = Organization.objects.get(pk=acme)

    assert org.created_at == moment() <= timezone.now()
    # The autouse fixtures' fast hashing, as for personas made in a test.
    assert identify_hasher(User.objects.get().password).algorithm == "md5"


def test_the_database_stays_blocked_between_tests(acme):
    with pytest.raises(RuntimeError, match="Database access not allowed"):
        Organization.objects.count()
