"""SSO reaches an existing account only when its owner linked it, and a session that
SSO started stays in that organization (docs/accounts.md, "Single sign-on").

Linking is allauth's connect flow: from a session started by the password (and the
authenticator code when two-factor is on), through the provider, then the password
again (allauth's reauthentication). Real HTTP through Django's test client; the
provider and the DNS server are loopback stand-ins (landmark/tests/fakes.py)."""

import importlib
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD, join
from landmark.orgs import actions
from landmark.orgs.middleware import SESSION_KEY, SSO_SCOPE_KEY
from landmark.orgs.models import Invitation, Membership, Organization, User
from landmark.orgs.tests.test_views import html
from landmark.tests.fakes import FakeIdP
from landmark.tests.test_accounts_mfa import code_for, turn_on_totp
from landmark.tests.test_accounts_sso import set_up_sso, sign_in

pytestmark = pytest.mark.django_db


def password_login(email: str, *, totp_secret: str = "") -> Client:
    client = Client()
    response = client.post(reverse("login"), {"login": email, "password": PASSWORD})
    if totp_secret:
        response = client.post(
            reverse("mfa_authenticate"), {"code": code_for(totp_secret)}
        )
    assert response.status_code == 302, html(response)
    assert "_auth_user_id" in client.session
    return client


def start_link(client: Client, idp: FakeIdP, provider_id: str, sub: str, email: str):
    """Press "Link … single sign-on" on the Security page and come back from the
    provider: allauth's connect flow up to its first answer."""
    idp.claims = {"sub": sub, "email": email}
    to_idp = client.post(
        f"/accounts/oidc/{provider_id}/login/",
        {"process": "connect", "next": reverse("mfa_index")},
    )
    assert to_idp.status_code == 302, html(to_idp)
    query = parse_qs(urlparse(to_idp["Location"]).query)
    callback = urlparse(query["redirect_uri"][0]).path
    return client.get(callback, {"code": "code-1", "state": query["state"][0]})


@pytest.fixture
def acme_sso(org, idp, dns_server):
    return set_up_sso(org, idp, dns_server, ["acme.test"])


def messages_on(client: Client, name: str = "mfa_index") -> str:
    return html(client.get(reverse(name)))


# Linking by the owner


def test_the_owner_links_their_account_with_the_password_then_sso_logs_them_in(
    acme_sso, idp, bob
):
    client = password_login(bob.email)
    page = messages_on(client)
    assert "Link Acme Test's single sign-on" in page

    back = start_link(client, idp, acme_sso.provider_id, "bob-at-idp", bob.email)

    # allauth asks for the password again before it links anything.
    assert back["Location"] == reverse("account_reauthenticate")
    assert not SocialAccount.objects.exists()
    linked = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert linked.status_code == 302
    account = SocialAccount.objects.get()
    assert (account.user, account.provider, account.uid) == (
        bob,
        acme_sso.provider_id,
        "bob-at-idp",
    )
    assert "Linked." in messages_on(client)

    sso_client = Client()
    done = sign_in(sso_client, idp, bob.email, sub="bob-at-idp")
    assert done["Location"] == reverse("focus")
    assert int(sso_client.session["_auth_user_id"]) == bob.pk
    assert sso_client.session[SSO_SCOPE_KEY] == acme_sso.organization_id


def test_a_wrong_password_at_reauthentication_links_nothing(acme_sso, idp, bob):
    client = password_login(bob.email)
    start_link(client, idp, acme_sso.provider_id, "bob-at-idp", bob.email)

    refused = client.post(reverse("account_reauthenticate"), {"password": "wrong"})

    assert refused.status_code == 200
    assert not SocialAccount.objects.exists()


def test_with_two_factor_on_the_session_must_have_passed_the_code(acme_sso, idp, bob):
    secret = turn_on_totp(password_login(bob.email))
    client = password_login(bob.email, totp_secret=secret)

    back = start_link(client, idp, acme_sso.provider_id, "bob-at-idp", bob.email)
    client.post(back["Location"], {"password": PASSWORD})

    assert SocialAccount.objects.get().user == bob


def test_a_session_not_started_by_the_password_cannot_link(acme_sso, idp, bob):
    """A session made without allauth's password step (here: Django's force_login)
    carries no proof that the owner is at the keyboard."""
    client = Client()
    client.force_login(bob)

    refused = start_link(client, idp, acme_sso.provider_id, "bob-at-idp", bob.email)

    assert refused["Location"] == reverse("mfa_index")
    assert "log in with your password" in messages_on(client)
    assert not SocialAccount.objects.exists()


def test_an_identity_already_linked_to_someone_else_cannot_be_linked_again(
    acme_sso, idp, org, bob, viewer
):
    sign_in(Client(), idp, "nina@acme.test", sub="shared-sub")  # Nina's own account
    client = password_login(bob.email)

    refused = start_link(client, idp, acme_sso.provider_id, "shared-sub", bob.email)

    assert refused["Location"] == reverse("mfa_index")
    assert "already linked to another Landmark account" in messages_on(client)
    assert SocialAccount.objects.get().user.email == "nina@acme.test"


def test_an_identity_outside_the_verified_domains_cannot_be_linked(acme_sso, idp, bob):
    client = password_login(bob.email)

    refused = start_link(
        client, idp, acme_sso.provider_id, "bob-at-idp", "bob@elsewhere.test"
    )

    assert refused["Location"] == reverse("mfa_index")
    assert not SocialAccount.objects.exists()


def test_only_the_current_organizations_sso_is_offered(
    acme_sso, idp, other_idp, dns_server, bob, charlie, other_org
):
    set_up_sso(other_org, other_idp, dns_server, ["other.test"])
    client = password_login(bob.email)

    connections = html(client.get(reverse("socialaccount_connections")))

    assert "Acme Test" in connections
    assert "Other Co" not in connections
    # Nor can Bob link Other Co's provider by its address: he is no member there.
    refused = start_link(
        client, other_idp, f"org-{other_org.pk}", "bob-at-other", "bob@other.test"
    )
    assert refused["Location"] == reverse("mfa_index")
    assert "only as a member of Other Co" in messages_on(client)
    assert not SocialAccount.objects.exists()


# A session started through an organization's SSO stays there


@pytest.fixture
def nina(acme_sso, idp, org, other_org) -> User:
    """Nina's account was made by Acme's SSO; she also belongs to Other Co (she
    accepted its invitation, logged in with the password she set later)."""
    sign_in(Client(), idp, "nina@acme.test", sub="nina-sub")
    user = User.objects.get(email="nina@acme.test")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    join(other_org, user, Membership.Role.ADMIN)
    return user


def test_an_sso_session_cannot_switch_to_another_organization(
    idp, nina, org, other_org
):
    client = Client()
    sign_in(client, idp, nina.email, sub="nina-sub")

    response = client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert response["Location"] == reverse("focus")
    assert client.session[SESSION_KEY] == org.pk
    page = html(client.get(reverse("focus")))
    assert '<span class="org">Acme Test</span>' in page
    assert "opens Acme Test only" in page
    # The API through the same session sees Acme only.
    assert client.get("/api/v1/organization").json()["name"] == "Acme Test"


def test_a_forged_organization_in_the_session_opens_nothing_else(
    idp, nina, org, other_org
):
    """Even if the current organization in the session named another one, the
    middleware only ever offers the SSO organization's membership."""
    client = Client()
    sign_in(client, idp, nina.email, sub="nina-sub")
    session = client.session
    session[SESSION_KEY] = other_org.pk
    session.save()

    assert client.get("/api/v1/organization").json()["name"] == "Acme Test"


def test_a_password_login_opens_every_organization_again(nina, org, other_org):
    client = password_login(nina.email)

    client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert SSO_SCOPE_KEY not in client.session
    assert client.get("/api/v1/organization").json()["name"] == "Other Co"


def test_an_sso_session_cannot_accept_another_organizations_invitation(
    idp, acme_sso, org, charlie, other_org
):
    sign_in(Client(), idp, "olly@acme.test", sub="olly-sub")
    olly = User.objects.get(email="olly@acme.test")
    tokens: list[str] = []
    actions.invite_member(
        org=other_org,
        email=olly.email,
        role=Membership.Role.ADMIN,
        teams=[],
        invited_by=charlie,
        build_link=lambda t: tokens.append(t) or t,  # type: ignore[func-returns-value]
    )
    client = Client()
    sign_in(client, idp, olly.email, sub="olly-sub")

    response = client.post(reverse("invitation_accept", args=[tokens[0]]))

    assert response.status_code == 200
    assert "opens Acme Test only" in html(response)
    assert not Membership.objects.filter(organization=other_org, user=olly).exists()
    assert Invitation.objects.get(organization=other_org).accepted_at is None


def test_an_sso_session_cannot_link_another_provider(
    idp, other_idp, nina, acme_sso, dns_server, other_org
):
    set_up_sso(other_org, other_idp, dns_server, ["other.test"])
    client = Client()
    sign_in(client, idp, nina.email, sub="nina-sub")
    # Linking from a session that SSO started is refused, whichever provider.
    for provider, fake, sub, email in [
        (acme_sso.provider_id, idp, "another-sub", "nina@acme.test"),
        (f"org-{other_org.pk}", other_idp, "nina-other", "nina@other.test"),
    ]:
        refused = start_link(client, fake, provider, sub, email)
        assert refused["Location"] == reverse("mfa_index")
    assert SocialAccount.objects.filter(user=nina).count() == 1


def test_an_sso_session_without_an_active_membership_cannot_start_an_organization(
    idp, acme_sso, org
):
    sign_in(Client(), idp, "pia@acme.test", sub="pia-sub")
    pia = User.objects.get(email="pia@acme.test")
    actions.deactivate_member(membership=Membership.objects.get(user=pia))
    client = Client()
    sign_in(client, idp, pia.email, sub="pia-sub")
    before = Organization.objects.count()

    response = client.post(reverse("no_organization"), {"organization": "Pia Co"})

    assert response.status_code == 200
    assert "opens Acme Test only" in html(response)
    assert Organization.objects.count() == before


def test_the_upgrade_unlinks_identities_an_older_version_linked_by_address(
    acme_sso, idp, bob, fixed_clock
):
    """Migration orgs.0008: a link made long after the account (the old address
    match) goes; the account the provider itself created keeps its link."""
    from datetime import timedelta

    from django.apps import apps

    migration = importlib.import_module(
        "landmark.orgs.migrations.0008_unlink_sso_identities_matched_by_address"
    )
    sign_in(Client(), idp, "nina@acme.test", sub="nina-sub")  # made by the provider
    fixed_clock.shift(timedelta(days=3))
    SocialAccount.objects.create(user=bob, provider=acme_sso.provider_id, uid="bob-x")

    migration.unlink_address_matches(apps, None)

    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["nina-sub"]
