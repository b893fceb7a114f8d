"""Single sign-on per organization (OpenID Connect through allauth).

The identity provider is a stand-in: a tiny HTTP server on 127.0.0.1, started by the
test in a thread, that serves the discovery document, the token endpoint and userinfo;
domains are proven against a DNS server on 127.0.0.1 (landmark/tests/fakes.py).
Everything on Landmark's side is real: the settings page, "Sign in with SSO", allauth's
redirect and callback, and our adapter's rules."""

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.test import Client
from django.urls import reverse

from landmark.conftest import login
from landmark.orgs import actions
from landmark.orgs.models import Membership, OrganizationSSO, SSODomain, User
from landmark.orgs.tests.test_views import field_error, html
from landmark.tests.fakes import FakeIdP


def set_up_sso(org, idp, dns, domains: list[str]) -> OrganizationSSO:
    """An organization's SSO with its domains proven in DNS (verified)."""
    config = actions.save_sso(
        org=org,
        server_url=idp.url,
        client_id=f"landmark-{org.slug}",
        client_secret=f"{org.slug}-client-secret",
        domains=domains,
        enabled=True,
    )
    for claim in SSODomain.objects.filter(sso=config):
        dns.publish(claim.domain, claim.token)
    checked = actions.check_sso_domains(org=org)
    assert all(claim.is_verified for claim in checked), [
        c.check_result for c in checked
    ]
    return config


@pytest.fixture
def acme_sso(org, idp, dns_server) -> OrganizationSSO:
    return set_up_sso(org, idp, dns_server, ["acme.test"])


def start(client: Client, email: str):
    return client.post(reverse("sso_login"), {"email": email})


def sign_in(client: Client, idp: FakeIdP, email: str, **claims: Any):
    """Sign in with SSO as `email` all the way back to Landmark's callback."""
    idp.claims = {"sub": f"sub-{email}", "email": email, **claims}
    to_idp = start(client, email)
    assert to_idp.status_code == 302, html(to_idp)
    query = parse_qs(urlparse(to_idp["Location"]).query)
    callback = urlparse(query["redirect_uri"][0]).path
    return client.get(callback, {"code": "code-1", "state": query["state"][0]})


@pytest.mark.django_db
def test_an_admin_sets_up_sso_on_the_settings_page(alice_client, org):
    page = alice_client.get(reverse("sso_settings"))
    assert page.status_code == 200
    callback = f"/accounts/oidc/org-{org.pk}/login/callback/"
    assert callback in html(page)

    response = alice_client.post(
        reverse("sso_settings"),
        {
            "server_url": "https://login.acme.test/realms/acme",
            "client_id": "landmark",
            "client_secret": "s3cret-value",
            "domains": "acme.test, @Acme-Labs.test",
            "enabled": "on",
        },
    )

    assert response["Location"] == reverse("sso_settings")
    config = OrganizationSSO.objects.get(organization=org)
    app = config.social_app
    assert (app.provider, app.provider_id) == ("openid_connect", f"org-{org.pk}")
    # The secret is stored encrypted on the organization's SSO, never in clear.
    assert app.client_id == "landmark" and app.secret == ""
    assert config.client_secret is not None
    assert config.client_secret.reveal() == "s3cret-value"
    assert app.settings["server_url"] == "https://login.acme.test/realms/acme"
    assert {d.domain for d in SSODomain.objects.filter(sso=config)} == {
        "acme.test",
        "acme-labs.test",
    }
    # The secret is never shown again; an empty one keeps it.
    again = alice_client.get(reverse("sso_settings"))
    assert "s3cret-value" not in html(again)
    alice_client.post(
        reverse("sso_settings"),
        {
            "server_url": "https://login.acme.test/realms/acme",
            "client_id": "landmark-2",
            "client_secret": "",
            "domains": "acme.test",
        },
    )
    app.refresh_from_db()
    config.refresh_from_db()
    assert config.client_secret is not None
    assert (app.client_id, config.client_secret.reveal(), config.enabled) == (
        "landmark-2",
        "s3cret-value",
        False,
    )
    assert list(SSODomain.objects.values_list("domain", flat=True)) == ["acme.test"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"domains": "not a domain!"}, "domains", "is not an email domain"),
        ({"domains": ""}, "domains", "required"),
        ({"server_url": "login"}, "server_url", "valid URL"),
        ({"client_secret": ""}, "client_secret", "Enter the client secret"),
        ({"client_id": ""}, "client_id", "required"),
    ],
)
def test_bad_sso_settings_are_field_errors_and_save_nothing(
    alice_client, changes, field, message
):
    data = {
        "server_url": "https://login.acme.test",
        "client_id": "landmark",
        "client_secret": "s3cret-value",
        "domains": "acme.test",
        "enabled": "on",
    }
    data.update(changes)

    response = alice_client.post(reverse("sso_settings"), data)

    assert response.status_code == 200
    assert message in field_error(html(response), field)
    assert not SocialApp.objects.exists()
    assert not OrganizationSSO.objects.exists()


@pytest.mark.django_db
def test_a_domain_verified_by_one_organization_cannot_be_claimed_by_another(
    alice_client, charlie, other_org, idp, dns_server
):
    """Changed: a mere claim (pending) no longer blocks anyone, or a squatter could
    hold a domain it does not own; a verified one does."""
    set_up_sso(other_org, idp, dns_server, ["acme.test"])

    response = alice_client.post(
        reverse("sso_settings"),
        {
            "server_url": "https://login.acme.test",
            "client_id": "landmark",
            "client_secret": "s3cret-value",
            "domains": "acme.test",
            "enabled": "on",
        },
    )

    assert "another organization" in field_error(html(response), "domains")
    assert OrganizationSSO.objects.count() == 1


@pytest.mark.django_db
def test_sign_in_with_sso_redirects_to_the_organizations_provider(acme_sso, idp):
    response = start(Client(), "Someone@ACME.test")

    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{idp.url}/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["landmark-acme-test"]
    assert query["response_type"] == ["code"]
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"][0].endswith(
        f"/accounts/oidc/{acme_sso.provider_id}/login/callback/"
    )
    assert query["state"][0]


@pytest.mark.django_db
def test_an_unknown_domain_or_a_disabled_sso_is_a_field_error(acme_sso):
    unknown = start(Client(), "someone@elsewhere.test")
    assert "No organization signs in with single sign-on" in field_error(
        html(unknown), "email"
    )

    acme_sso.enabled = False
    acme_sso.save(update_fields=["enabled"])
    disabled = start(Client(), "someone@acme.test")
    assert disabled.status_code == 200
    assert "No organization" in field_error(html(disabled), "email")
    # The provider's own login URL is refused too while SSO is off.
    assert (
        Client().post(f"/accounts/oidc/{acme_sso.provider_id}/login/").status_code
        == 404
    )


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_is_a_field_error(org, dns_server):
    config = actions.save_sso(
        org=org,
        server_url="http://127.0.0.1:9",  # nothing listens on the discard port
        client_id="landmark",
        client_secret="x",
        domains=["acme.test"],
        enabled=True,
    )
    dns_server.publish("acme.test", SSODomain.objects.get(sso=config).token)
    actions.check_sso_domains(org=org)

    response = start(Client(), "someone@acme.test")

    assert response.status_code == 200
    assert "did not answer" in field_error(html(response), "email")


@pytest.mark.django_db
def test_a_new_person_signs_up_through_sso_and_joins_as_a_member(acme_sso, idp):
    client = Client()

    done = sign_in(client, idp, "nina@acme.test", name="Nina Nakamura")

    assert done["Location"] == reverse("focus"), html(done)
    user = User.objects.get(email="nina@acme.test")
    assert user.full_name == "Nina Nakamura"
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert membership.organization_id == acme_sso.organization_id
    assert membership.role == Membership.Role.MEMBER
    assert EmailAddress.objects.get(user=user).verified
    assert SocialAccount.objects.get(user=user).provider == acme_sso.provider_id
    assert idp.token_requests[0]["client_id"] == ["landmark-acme-test"]
    assert client.get(reverse("focus")).status_code == 200


@pytest.mark.django_db
def test_an_existing_member_is_not_logged_in_by_address_alone(acme_sso, idp, bob):
    """Changed: the provider used to log in (and link) an existing member by their
    address. Now only the account's owner links it; the address alone is refused."""
    client = Client()

    refused = sign_in(client, idp, bob.email)

    assert refused["Location"] == reverse("login")
    assert not SocialAccount.objects.exists()
    assert "_auth_user_id" not in client.session
    page = html(client.get(reverse("login")))
    assert "is not linked to a Landmark account" in page
    assert "log in with your password and link" in page
    bob.refresh_from_db()
    assert bob.has_usable_password()


@pytest.mark.django_db
def test_the_provider_cannot_take_over_someone_outside_the_organization(
    acme_sso, idp, org
):
    # An account with an acme.test address that is not a member of Acme.
    outsider = User.objects.create_user("olga@acme.test", "olga-own-passphrase")
    before = Membership.objects.count()

    client = Client()
    refused = sign_in(client, idp, outsider.email)

    assert refused["Location"] == reverse("login")
    assert not SocialAccount.objects.exists()
    assert Membership.objects.count() == before
    outsider.refresh_from_db()
    assert outsider.check_password("olga-own-passphrase")
    # The same words as for a member of Acme: nothing tells what Olga's account is.
    assert "is not linked to a Landmark account" in html(client.get(reverse("login")))


@pytest.mark.django_db
def test_an_address_outside_the_domains_is_refused(acme_sso, idp):
    client = Client()
    idp.claims = {"sub": "x-1", "email": "mallory@evil.test"}
    to_idp = start(client, "someone@acme.test")
    query = parse_qs(urlparse(to_idp["Location"]).query)
    callback = urlparse(query["redirect_uri"][0]).path

    refused = client.get(callback, {"code": "c", "state": query["state"][0]})

    assert refused["Location"] == reverse("login")
    assert not User.objects.filter(email="mallory@evil.test").exists()
    page = html(client.get(reverse("login")))
    assert "not an address of Acme Test" in page


@pytest.mark.django_db
def test_a_deactivated_member_signing_in_with_sso_gets_no_access(acme_sso, idp, org):
    sign_in(Client(), idp, "nina@acme.test")  # the provider made Nina's account
    nina = User.objects.get(email="nina@acme.test")
    actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=nina)
    )
    client = Client()

    done = sign_in(client, idp, nina.email)

    assert done["Location"] == reverse("no_organization")
    assert client.get(reverse("focus")).status_code == 403


@pytest.mark.django_db
def test_only_admins_see_the_sso_link(alice, bob, org):
    assert reverse("sso_settings") in html(login(alice).get(reverse("focus")))
    assert reverse("sso_settings") not in html(login(bob).get(reverse("focus")))


@pytest.mark.django_db
def test_pages_that_lead_to_a_provider_let_the_browser_follow_the_redirect(
    acme_sso,
):
    """CSP's form-action also governs the redirect after a submit: without the
    provider's origin Chromium stops "Sign in with SSO" at Landmark's own page."""
    for url in [reverse("sso_login"), f"/accounts/oidc/{acme_sso.provider_id}/login/"]:
        policy = Client().get(url)["Content-Security-Policy"]
        form_action = next(
            part for part in policy.split(";") if "form-action" in part
        ).split()
        assert "'self'" in form_action and "https:" in form_action, url
    other = Client().get(reverse("login"))["Content-Security-Policy"]
    assert "form-action 'self';" in other + ";"
