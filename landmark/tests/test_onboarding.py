"""Onboarding: the getting-started checklist's states (ticked by real data, one
query), its dismissal, the example OKRs and KPIs, and the branded account pages and
emails (site name, resend, the console hint)."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.conftest import login
from landmark.demo.examples import NotEmpty, load_examples
from landmark.kpis.actions import create_kpi
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs import onboarding
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership
from landmark.orgs.tests.test_views import html
from landmark.tests.test_accounts import NEW_PASSWORD, link_in, sign_up


def done(org) -> dict[str, bool]:
    return {s.key: s.done for s in onboarding.checklist(org).steps}


def owner_of(org) -> Membership:
    # As the middleware loads it: with its organization.
    return Membership.objects.select_related("organization").get(
        organization=org, role=Membership.Role.OWNER
    )


@pytest.mark.django_db
def test_a_new_organization_has_nothing_done_and_may_load_examples(org, period):
    with CaptureQueriesContext(connection) as queries:
        checklist = onboarding.checklist(org)
    assert len(queries) == 1
    assert [s.key for s in checklist.steps] == [
        "invite",
        "kpis",
        "objectives",
        "checkin",
    ]
    assert checklist.done_count == 0 and not checklist.complete and checklist.empty


@pytest.mark.django_db
def test_each_step_ticks_itself_from_the_organizations_data(org, period, alice):
    org_actions.invite_member(
        org=org,
        email="sam@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=alice,
        build_link=lambda token: f"http://testserver/invitations/{token}/",
    )
    assert done(org) == dict(invite=True, kpis=False, objectives=False, checkin=False)

    kpi = create_kpi(org=org, name="Sales revenue", unit="k USD")
    assert done(org)["kpis"] and not onboarding.checklist(org).empty

    objective = okr_actions.create_objective(
        org=org, period=period, owner=alice, title="Win the mid-market"
    )
    kr = okr_actions.create_key_result(
        objective=objective,
        title="Revenue from 0 to 10",
        start=Decimal(0),
        target=Decimal(10),
        kpi=kpi,
    )
    assert done(org)["objectives"] and not done(org)["checkin"]

    # A value that followed the KPI is not anyone's check-in.
    okr_actions.record_checkin(
        key_result=kr, author=alice, value=Decimal(1), source=CheckIn.Source.KPI
    )
    assert not done(org)["checkin"]
    okr_actions.record_checkin(
        key_result=kr, author=alice, value=Decimal(2), status=KeyResult.Status.ON_TRACK
    )
    assert onboarding.checklist(org).complete


@pytest.mark.django_db
def test_objectives_of_a_closed_period_do_not_count_and_a_colleague_counts_as_invited(
    org, period, alice, bob
):
    past = okr_actions.create_period(
        org=org,
        name="Old",
        start=period.start.replace(year=period.start.year - 2),
        end=period.end.replace(year=period.end.year - 2),
        state=Period.State.CLOSED,
    )
    Objective.objects.create(organization=org, period=past, owner=alice, title="Old")
    flags = done(org)
    assert flags["invite"]  # Bob is a member
    assert not flags["objectives"]
    assert not onboarding.checklist(org).empty  # but examples would mix in


@pytest.mark.django_db
def test_the_checklist_shows_to_admins_until_dismissed_then_costs_no_query(org, bob):
    owner = owner_of(org)
    member = Membership.objects.get(user=bob)
    assert onboarding.shown_to(owner) is not None
    assert onboarding.shown_to(member) is None

    onboarding.dismiss(org=org)
    owner = owner_of(org)
    with CaptureQueriesContext(connection) as queries:
        assert onboarding.shown_to(owner) is None
    assert len(queries) == 0
    onboarding.restore(org=org)
    assert onboarding.shown_to(owner_of(org)) is not None


@pytest.mark.django_db
def test_my_focus_shows_the_checklist_to_an_admin_and_hides_it_when_dismissed(
    org, alice, bob
):
    owner_client, member_client = login(alice), login(bob)
    page = html(owner_client.get(reverse("focus")))
    assert 'data-testid="getting-started"' in page and "0 of 4 done" not in page
    assert "1 of 4 done" in page  # Bob is there: someone was invited
    assert "Load example OKRs and KPIs" in page
    assert 'data-testid="getting-started"' not in html(
        member_client.get(reverse("focus"))
    )

    # A member may not dismiss it for everyone; an admin may.
    assert member_client.post(reverse("getting_started_dismiss")).status_code == 403
    owner_client.post(reverse("getting_started_dismiss"))
    org.refresh_from_db()
    assert org.getting_started_dismissed_at is not None
    assert 'data-testid="getting-started"' not in html(
        owner_client.get(reverse("focus"))
    )
    # The page keeps the checklist and the way back.
    page = html(owner_client.get(reverse("getting_started")))
    assert "KPIs: the dashboard" in page and "OKRs: the landmarks" in page
    assert "Show the checklist on My focus again" in page


@pytest.mark.django_db
def test_examples_load_once_into_an_empty_organization(org, period):
    owner = owner_of(org)

    loaded = load_examples(org=org, by=owner)

    assert (loaded.kpis, loaded.objectives, loaded.key_results) == (4, 2, 5)
    assert KPI.objects.filter(organization=org).count() == 4
    objectives = Objective.objects.filter(organization=org, period=period)
    assert objectives.count() == 2
    tracking = KeyResult.objects.get(objective__organization=org, kpi__isnull=False)
    assert tracking.kpi is not None
    assert tracking.kpi.key == "example-trial-conversion"
    assert set(objectives.values_list("owner", flat=True)) == {owner.user_id}
    counts = (KPI.objects.count(), Objective.objects.count(), KeyResult.objects.count())
    with pytest.raises(NotEmpty):
        load_examples(org=org, by=owner)
    assert (
        KPI.objects.count(),
        Objective.objects.count(),
        KeyResult.objects.count(),
    ) == counts
    assert done(org) == dict(invite=False, kpis=True, objectives=True, checkin=False)


@pytest.mark.django_db
def test_the_examples_button_adds_nothing_to_an_organization_with_a_kpi(
    org, period, alice
):
    create_kpi(org=org, name="Churn", unit="%")
    client = login(alice)

    response = client.post(reverse("getting_started_examples"), follow=True)

    assert "nothing was added" in html(response)
    assert KPI.objects.filter(organization=org).count() == 1
    assert not Objective.objects.filter(organization=org).exists()


@pytest.mark.django_db
def test_only_admins_load_examples(org, period, bob):
    response = login(bob).post(reverse("getting_started_examples"))
    assert response.status_code == 403
    assert not KPI.objects.filter(organization=org).exists()


# Branded account pages and emails


@pytest.mark.django_db
def test_the_sign_up_email_is_signed_by_landmark_and_the_organization_in_text_and_html():
    sign_up(Client())

    message = mail.outbox[0]
    body = str(message.body)
    assert message.subject == "[Landmark] Welcome: confirm your email address"
    assert body.startswith("Hello Nora North,")
    assert "Landmark with Northwind" in body and "— Landmark · Northwind" in body
    assert "Hello from" not in body and "testserver!" not in body
    assert isinstance(message, EmailMultiAlternatives)
    html_part, mimetype = message.alternatives[0]
    assert isinstance(html_part, str)
    assert mimetype == "text/html"
    assert "◆ Landmark" in html_part
    link = link_in(message, "/accounts/confirm-email/")
    assert f'href="http://testserver{link}"' in html_part


@pytest.mark.django_db
def test_the_password_reset_email_is_branded(alice, org):
    Client().post(reverse("account_reset_password"), {"email": alice.email})

    message = mail.outbox[0]
    assert message.subject == "[Landmark] Reset your password"
    assert "Hello Alice Adams," in str(message.body)
    assert "— Landmark · Acme Test" in str(message.body)
    assert isinstance(message, EmailMultiAlternatives)
    assert "Choose a new password" in str(message.alternatives[0][0])


@pytest.mark.django_db
def test_the_check_your_email_page_names_the_address_and_resends_after_the_cooldown():
    client = Client()
    sign_up(client, email="Nora@Northwind.test")
    page = html(client.get(reverse("account_email_verification_sent")))
    assert "Check your email" in page
    assert "nora@northwind.test" in page  # as saved: lower-cased
    assert reverse("resend_verification") in page
    assert 'data-testid="console-hint"' not in page  # the tests' backend keeps mail

    soon = client.post(reverse("resend_verification"), follow=True)
    assert "less than three minutes ago" in html(soon)
    assert len(mail.outbox) == 1
    cache.clear()  # allauth's cooldown is kept in the cache: three minutes later
    client.post(reverse("resend_verification"))
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["nora@northwind.test"]
    link = link_in(mail.outbox[1], "/accounts/confirm-email/")
    client.post(link)
    assert EmailAddress.objects.get(email="nora@northwind.test").verified


@pytest.mark.django_db
def test_resending_for_a_taken_address_answers_alike_and_mails_its_owner(alice, org):
    client = Client()
    sign_up(client, email=alice.email, organization="Acme Again")
    assert "already exists" in str(mail.outbox[0].body)
    page = html(client.get(reverse("account_email_verification_sent")))
    assert alice.email in page and reverse("resend_verification") in page

    cache.clear()
    client.post(reverse("resend_verification"))

    assert [m.to for m in mail.outbox] == [[alice.email], [alice.email]]
    assert "already exists" in str(mail.outbox[1].body)


@pytest.mark.django_db
def test_with_the_console_backend_pages_say_the_email_is_in_the_servers_console(
    settings,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    for name in ("account_email_verification_sent", "account_reset_password_done"):
        page = html(Client().get(reverse(name)))
        assert 'data-testid="console-hint"' in page
        assert "server's console" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("account_reset_password", "Reset your password"),
        ("account_reset_password_done", "Check your email"),
        ("account_reset_password_from_key_done", "Password changed"),
        ("account_inactive", "This account is switched off"),
    ],
)
def test_public_account_pages_speak_landmark(name, heading):
    page = html(Client().get(reverse(name)))
    assert f"<h1>{heading}</h1>" in page
    assert "◆ Landmark" in page  # inside Landmark's own frame


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("account_email", "Email addresses"),
        ("account_change_password", "Change your password"),
        ("account_logout", "Log out of Landmark?"),
    ],
)
def test_own_account_pages_speak_landmark(alice, org, name, heading):
    page = html(login(alice).get(reverse(name)))
    assert f"<h1>{heading}</h1>" in page
    assert "Verified" not in page and "Sign Out" not in page


@pytest.mark.django_db
def test_an_expired_confirmation_link_says_so():
    page = html(Client().get(reverse("account_confirm_email", args=["not-a-key"])))
    assert "This link has expired or was already used." in page


@pytest.mark.django_db
def test_the_signed_up_owner_lands_on_the_checklist():
    client = Client()
    sign_up(client)
    client.post(link_in(mail.outbox[0], "/accounts/confirm-email/"))
    page = html(client.get(reverse("focus")))
    assert "Get Northwind started" in page and "0 of 4 done" in page
    assert NEW_PASSWORD not in page
