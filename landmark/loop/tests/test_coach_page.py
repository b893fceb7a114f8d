"""The coach page of a period: findings grouped by rule or team, why and where from,
the fix for those who may write, nothing private to those who may not see it."""

from decimal import Decimal

from landmark.loop.tests.makers import six_key_results
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective

D = Decimal


def test_findings_by_rule_with_the_source_and_the_fix(
    org, period, bob, sales, bob_client
):
    objective = six_key_results(org, period, bob, sales)
    okr_actions.create_key_result(
        objective=objective, title="Launch the new website", start=D(0), target=D(1)
    )
    page = bob_client.get(f"/coach/?period={period.pk}").content.decode()
    assert 'id="rule-kr-count"' in page
    assert "It has 7 key results; aim for 2 to 5." in page
    assert "you’ll typically set three to five indicators" in page  # article 000
    assert 'id="rule-kr-initiative"' in page
    assert "Launch the new website" in page
    assert "Make it a milestone" in page
    assert f'href="/objectives/{objective.pk}/"' in page


def test_the_current_period_by_default_and_grouped_by_team(
    org, period, bob, sales, bob_client
):
    six_key_results(org, period, bob, sales)
    page = bob_client.get("/coach/?by=team").content.decode()
    assert "<h2>Sales" in page
    assert "Key results per objective" in page  # the rule named on each finding


def test_a_viewer_reads_the_findings_without_the_fixes(
    org, period, bob, sales, viewer_client
):
    six_key_results(org, period, bob, sales)
    page = viewer_client.get(f"/coach/?period={period.pk}").content.decode()
    assert "It has 6 key results" in page
    assert "Open the objective" not in page


def test_a_private_objective_shows_only_to_who_may_see_it(
    org, period, alice, bob, sales, alice_client, bob_client
):
    six_key_results(
        org,
        period,
        alice,
        None,
        title="Quietly reorganize sales",
        visibility=Objective.Visibility.PRIVATE,
    )
    assert "Quietly reorganize sales" not in bob_client.get("/coach/").content.decode()
    assert "Quietly reorganize sales" in alice_client.get("/coach/").content.decode()


def test_another_organizations_period_is_not_found(
    other_period, bob_client, charlie_client, other_objective
):
    assert bob_client.get(f"/coach/?period={other_period.pk}").status_code == 404
    assert charlie_client.get(f"/coach/?period={other_period.pk}").status_code == 200


def test_nothing_to_say(org, period, bob_client):
    page = bob_client.get(f"/coach/?period={period.pk}").content.decode()
    assert "Nothing to say about" in page


def test_a_thousand_teams_show_the_first_groups_and_count_the_rest(
    org, period, bob, sales, bob_client, monkeypatch
):
    from landmark.loop import coach
    from landmark.orgs import actions as org_actions

    monkeypatch.setattr(coach, "GROUPS_SHOWN", 1)
    support = org_actions.create_team(org=org, name="Support")
    six_key_results(org, period, bob, sales)
    six_key_results(org, period, bob, support, title="Answer every customer")
    page = bob_client.get(f"/coach/?period={period.pk}&by=team").content.decode()
    assert "<h2>Sales" in page and "<h2>Support" not in page
    assert "And 1 more team with findings." in page


def test_the_menu_the_okr_tree_and_the_periods_lead_to_the_coach(
    org, period, bob_client
):
    coach_link = f'href="/coach/?period={period.pk}"'
    assert 'href="/coach/"' in bob_client.get("/okrs/").content.decode()
    assert coach_link in bob_client.get(f"/okrs/?period={period.pk}").content.decode()
    assert coach_link in bob_client.get("/periods/").content.decode()
