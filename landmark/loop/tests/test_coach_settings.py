"""Coach rules in the organization's settings: each rule can be turned off and the
numbers the rules use changed, on Settings → Organization and through PATCH
/api/v1/organization, with the same checks; bad input changes nothing."""

import re
from typing import Any

import pytest
from django.urls import reverse

from landmark.lib import coach
from landmark.orgs.models import Organization
from landmark.orgs.tests.test_organization_settings import VALID, field_block, html


def fresh(org: Organization) -> Organization:
    return Organization.objects.get(pk=org.pk)


def post(client, **changes: object) -> Any:
    return client.post(reverse("organization_settings"), {**VALID, **changes})


def test_the_page_lists_every_rule_to_turn_off(alice_client, org):
    page = html(alice_client.get(reverse("organization_settings")))
    assert 'id="coach"' in page
    for rule in coach.RULES:
        assert f'value="{rule.id}"' in page, rule.id
    assert 'name="coach_max_key_results" value="5"' in page


def test_an_admin_turns_rules_off_and_changes_the_numbers(alice_client, org):
    response = post(
        alice_client,
        coach_rules_off=["objective-numbers", "kr-count"],
        coach_max_key_results="6",
        coach_max_key_kpis="3",
    )
    assert response.status_code == 302
    org = fresh(org)
    assert org.coach_rules_off == "kr-count,objective-numbers"
    settings = org.coach_settings()
    assert not settings.on("kr-count") and settings.on("kr-stale")
    assert settings.thresholds == coach.Thresholds(max_key_results=6, max_key_kpis=3)
    page = html(alice_client.get(reverse("organization_settings")))
    assert "Most key results per objective: 5 → 6" in page
    assert "Coach rules turned off:  → kr-count,objective-numbers" in page
    block = page[page.index('id="field-coach_rules_off"') :]
    block = block[: block.index("</fieldset>")]
    assert re.search(r'<input[^>]*value="kr-count"[^>]*checked', block)
    assert not re.search(r'<input[^>]*value="kr-stale"[^>]*checked', block)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"coach_min_key_results": "0"}, "coach_min_key_results", "from 1 to 20"),
        ({"coach_max_key_results": "21"}, "coach_max_key_results", "from 1 to 20"),
        (
            {"coach_min_key_results": "4", "coach_max_key_results": "3"},
            "coach_max_key_results",
            "Must be at least the fewest key results per objective (4).",
        ),
        ({"coach_max_key_kpis": "lots"}, "coach_max_key_kpis", "Enter a whole number."),
        ({"coach_max_team_objectives": ""}, "coach_max_team_objectives", "required"),
        ({"coach_rules_off": ["no-such-rule"]}, "coach_rules_off", "no-such-rule"),
    ],
)
def test_bad_coach_settings_are_errors_next_to_their_field(
    alice_client, org, changes, field, message
):
    before = Organization.objects.filter(pk=org.pk).values().get()
    response = post(alice_client, **changes)
    assert response.status_code == 200
    assert message in field_block(html(response), field)
    assert Organization.objects.filter(pk=org.pk).values().get() == before


def test_a_member_reads_the_rules_but_cannot_change_them(bob_client, org):
    page = html(bob_client.get(reverse("organization_settings")))
    assert 'name="coach_max_key_results"' in page
    assert "disabled" in field_block(page, "coach_max_key_results")
    post(bob_client, coach_max_key_results="9")
    assert fresh(org).coach_max_key_results == 5
