"""An organization proves it owns an email domain before its SSO may take addresses
there: a DNS TXT record with the token the settings page shows, checked with
dnspython against a DNS server the test runs on 127.0.0.1. Public suffixes and
free-mail domains are refused outright (bundled lists, no download)."""

import socket
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from landmark.conftest import login
from landmark.lib import domains
from landmark.orgs import actions, sso
from landmark.orgs.models import OrganizationSSO, SSODomain, User
from landmark.orgs.tests.test_views import field_error, html
from landmark.tests.test_accounts_sso import set_up_sso, sign_in, start

pytestmark = pytest.mark.django_db

FORM = {
    "client_id": "landmark",
    "client_secret": "s3cret-value",
    "enabled": "on",
}


def save(client: Client, server_url: str, domain_text: str):
    return client.post(
        reverse("sso_settings"),
        {**FORM, "server_url": server_url, "domains": domain_text},
    )


def claim(org, domain: str) -> SSODomain:
    return SSODomain.objects.get(organization=org, domain=domain)


def test_a_new_domain_is_pending_and_the_page_shows_the_record_to_add(
    alice_client, org, idp
):
    save(alice_client, idp.url, "acme.test")

    row = claim(org, "acme.test")
    assert not row.is_verified and row.checked_at is None
    page = html(alice_client.get(reverse("sso_settings")))
    assert "Pending" in page
    assert "_landmark-verification.acme.test" in page
    assert f"landmark-verification={row.token}" in page
    assert "Never" in page  # never checked yet
    assert "Check now" in page


def test_check_now_verifies_a_domain_whose_record_is_in_dns(
    alice_client, org, idp, dns_server
):
    save(alice_client, idp.url, "acme.test")
    dns_server.publish("acme.test", claim(org, "acme.test").token)

    response = alice_client.post(reverse("sso_check"))

    assert response["Location"] == reverse("sso_settings")
    row = claim(org, "acme.test")
    assert row.is_verified
    assert row.checked_at == row.verified_at
    assert "_landmark-verification.acme.test" in dns_server.queries
    page = html(alice_client.get(reverse("sso_settings")))
    assert "acme.test: The record was found" in page
    assert "<strong>Verified</strong> since" in page


def test_a_missing_or_wrong_record_leaves_the_domain_pending(
    alice_client, org, idp, dns_server, charlie, other_org
):
    save(alice_client, idp.url, "acme.test, acme-labs.test")
    # Someone else's token (here: a token made up by another organization).
    dns_server.publish("acme-labs.test", "not-the-token")

    alice_client.post(reverse("sso_check"))

    for domain in ["acme.test", "acme-labs.test"]:
        row = claim(org, domain)
        assert not row.is_verified and row.checked_at is not None
        assert "No TXT record" in row.check_result
    page = html(alice_client.get(reverse("sso_settings")))
    assert "acme.test: No TXT record _landmark-verification.acme.test" in page


def test_dns_that_does_not_answer_is_said_and_changes_nothing(
    alice_client, org, idp, settings
):
    # A UDP port nobody answers on: the resolver times out.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    settings.DOMAIN_VERIFICATION_NAMESERVERS = [f"127.0.0.1:{silent.getsockname()[1]}"]
    settings.DOMAIN_VERIFICATION_TIMEOUT = 0.3
    save(alice_client, idp.url, "acme.test")
    try:
        alice_client.post(reverse("sso_check"))
    finally:
        silent.close()

    row = claim(org, "acme.test")
    assert not row.is_verified
    assert row.check_result == "DNS did not answer; try again in a moment."


def test_a_record_that_is_removed_takes_the_domain_back_to_pending(
    acme_sso, alice_client, org, idp, dns_server
):
    dns_server.withdraw("acme.test")

    alice_client.post(reverse("sso_check"))

    assert not claim(org, "acme.test").is_verified
    refused = start(Client(), "nina@acme.test")
    assert "No organization signs in" in field_error(html(refused), "email")


@pytest.fixture
def acme_sso(org, idp, dns_server) -> OrganizationSSO:
    return set_up_sso(org, idp, dns_server, ["acme.test"])


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("gmail.com", "free email provider"),
        ("outlook.com", "free email provider"),
        ("proton.me", "free email provider"),
        ("s3.amazonaws.com", "public suffix"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
    ],
)
def test_public_and_free_mail_domains_are_refused_outright(
    alice_client, idp, domain, reason
):
    response = save(alice_client, idp.url, f"acme.test, {domain}")

    assert response.status_code == 200
    assert reason in field_error(html(response), "domains")
    assert not OrganizationSSO.objects.exists()
    assert not SSODomain.objects.exists()


def test_the_lists_come_from_the_packages_not_a_hand_typed_list():
    assert domains.unclaimable_reason("googlemail.com")  # free mail, from the list
    assert domains.unclaimable_reason("blogspot.com")  # a private public suffix
    assert domains.unclaimable_reason("city.kawasaki.jp") == ""  # a PSL exception
    assert domains.unclaimable_reason("kawasaki.jp")  # a wildcard suffix
    assert domains.unclaimable_reason("acme.com") == ""
    assert domains.unclaimable_reason("mail.acme.co.uk") == ""


def test_nameservers_are_read_from_the_setting(settings):
    settings.DOMAIN_VERIFICATION_NAMESERVERS = [
        "192.0.2.1",
        "127.0.0.1:5353",
        "[::1]:53",
    ]

    found = [(ns.address, ns.port) for ns in domains.nameservers()]

    assert found == [("192.0.2.1", 53), ("127.0.0.1", 5353), ("::1", 53)]


def test_an_unverified_domain_does_nothing(alice_client, org, idp):
    save(alice_client, idp.url, "acme.test")

    assert sso.config_for_email("nina@acme.test") is None
    refused = start(Client(), "nina@acme.test")
    assert "No organization signs in" in field_error(html(refused), "email")
    # Nor does the provider's own login address create or log in anyone.
    client = Client()
    idp.claims = {"sub": "nina-sub", "email": "nina@acme.test"}
    provider_id = OrganizationSSO.objects.get().provider_id
    to_idp = client.post(f"/accounts/oidc/{provider_id}/login/")
    assert to_idp.status_code == 302
    query = parse_qs(urlparse(to_idp["Location"]).query)
    back = client.get(
        urlparse(query["redirect_uri"][0]).path,
        {"code": "c", "state": query["state"][0]},
    )
    assert back["Location"] == reverse("login")
    assert not User.objects.filter(email="nina@acme.test").exists()
    assert not SocialAccount.objects.exists()
    assert "verified single sign-on domains" in html(client.get(reverse("login")))


def test_a_domain_verified_elsewhere_cannot_be_verified_again(
    alice_client, org, idp, other_idp, dns_server, charlie, other_org
):
    # Both claim; Other Co proves it first (it does own the DNS, in this story).
    save(alice_client, idp.url, "shared.test")
    config = actions.save_sso(
        org=other_org,
        server_url=other_idp.url,
        client_id="other",
        client_secret="x",
        domains=["shared.test"],
        enabled=True,
    )
    other_claim = SSODomain.objects.get(sso=config)
    dns_server.publish("shared.test", other_claim.token)
    dns_server.publish("shared.test", claim(org, "shared.test").token)
    actions.check_sso_domains(org=other_org)

    alice_client.post(reverse("sso_check"))

    assert SSODomain.objects.get(pk=other_claim.pk).is_verified
    mine = claim(org, "shared.test")
    assert not mine.is_verified
    assert "already proven" in mine.check_result
    # And saving it again is refused with a field error.
    response = save(alice_client, idp.url, "shared.test")
    assert "another organization" in field_error(html(response), "domains")


def test_a_pending_claim_blocks_no_one(alice_client, org, idp, charlie, other_org):
    actions.save_sso(
        org=other_org,
        server_url="https://login.other.test",
        client_id="other",
        client_secret="x",
        domains=["acme.test"],
        enabled=True,
    )

    response = save(alice_client, idp.url, "acme.test")

    assert response["Location"] == reverse("sso_settings")
    assert SSODomain.objects.filter(domain="acme.test").count() == 2


def test_only_admins_check_domains(bob, org):
    response = login(bob).post(reverse("sso_check"))

    assert response.status_code == 403


def test_sign_in_with_sso_works_once_the_domain_is_verified(acme_sso, idp):
    client = Client()

    done = sign_in(client, idp, "nina@acme.test")

    assert done["Location"] == reverse("focus")
    assert User.objects.get(email="nina@acme.test")
