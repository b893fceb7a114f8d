"""The account-takeover chain of issue 10, replayed over HTTP as an attacker would, and
its pre-hijack variant. Each step is refused on its own, so the chain breaks even if
one defence failed (the later steps are also tried with the earlier one bypassed).

The attacker's OpenID Connect provider and the DNS server run on loopback
(landmark/tests/fakes.py); everything on Landmark's side is real. The same stories
run in a real browser in test_browser_takeover.py."""

from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD
from landmark.orgs import actions
from landmark.orgs.models import Invitation, Membership, Organization, SSODomain, User
from landmark.orgs.tests.test_views import field_error, html
from landmark.tests.fakes import FakeIdP
from landmark.tests.test_accounts import link_in, sign_up

pytestmark = pytest.mark.django_db

MALLORY = "mallory@evil.test"


def mallory_signs_up() -> Client:
    """Step 1: open sign-up gives Mallory her own organization, Evil Corp."""
    client = Client()
    sign_up(client, full_name="Mallory", organization="Evil Corp", email=MALLORY)
    confirm = link_in(mail.outbox[-1], "/accounts/confirm-email/")
    client.post(confirm)
    assert int(client.session["_auth_user_id"]) == User.objects.get(email=MALLORY).pk
    return client


def provider_login(client: Client, idp: FakeIdP, provider_id: str, **claims):
    """Her provider's own login address, with the claims she chooses."""
    idp.claims = {"email_verified": True, **claims}
    to_idp = client.post(f"/accounts/oidc/{provider_id}/login/")
    assert to_idp.status_code == 302, html(to_idp)
    query = parse_qs(urlparse(to_idp["Location"]).query)
    callback = urlparse(query["redirect_uri"][0]).path
    return client.get(callback, {"code": "c", "state": query["state"][0]})


def logged_in_as(client: Client) -> int | None:
    raw = client.session.get("_auth_user_id")
    return int(raw) if raw is not None else None


def test_the_takeover_chain_fails_at_every_step(
    alice, org, objective, idp, dns_server, django_capture_on_commit_callbacks
):
    alice_before = User.objects.filter(pk=alice.pk).values().get()
    mallory = mallory_signs_up()
    evil = Organization.objects.get(name="Evil Corp")

    # Step 2: Members → Add with Alice's address, no password. An invitation only.
    with django_capture_on_commit_callbacks(execute=True):
        added = mallory.post(
            reverse("member_invite"), {"email": alice.email, "role": "member"}
        )
    assert added["Location"] == reverse("members")
    assert not Membership.objects.filter(organization=evil, user=alice).exists()
    assert Invitation.objects.get(organization=evil).email == alice.email
    assert mail.outbox[-1].to == [alice.email]  # Alice hears of it; she may ignore it

    # Step 3: claim Alice's domain (and gmail.com) with Mallory's own provider.
    free_mail = mallory.post(
        reverse("sso_settings"),
        {
            "server_url": idp.url,
            "client_id": "evil",
            "client_secret": "evil-secret",
            "domains": "acme.test, gmail.com",
            "enabled": "on",
        },
    )
    assert "free email provider" in field_error(html(free_mail), "domains")
    mallory.post(
        reverse("sso_settings"),
        {
            "server_url": idp.url,
            "client_id": "evil",
            "client_secret": "evil-secret",
            "domains": "acme.test",
            "enabled": "on",
        },
    )
    mallory.post(reverse("sso_check"))  # Acme's DNS does not carry her token
    claim = SSODomain.objects.get(organization=evil)
    assert not claim.is_verified

    # Step 4: "Sign in with SSO" as Alice: no organization serves acme.test yet.
    attacker = Client()
    asked = attacker.post(reverse("sso_login"), {"email": alice.email})
    assert "No organization signs in" in field_error(html(asked), "email")
    # Her provider's own login URL, asserting Alice's verified address: refused.
    refused = provider_login(
        attacker, idp, f"org-{evil.pk}", sub="alice-at-evil", email=alice.email
    )
    assert refused["Location"] == reverse("login")
    assert logged_in_as(attacker) is None

    # Defence in depth: even had Mallory proven acme.test (say she controlled its
    # DNS), her provider still cannot log in Alice's account by its address.
    dns_server.publish("acme.test", claim.token)
    mallory.post(reverse("sso_check"))
    assert SSODomain.objects.get(pk=claim.pk).is_verified
    again = provider_login(
        attacker, idp, f"org-{evil.pk}", sub="alice-at-evil", email=alice.email
    )
    assert again["Location"] == reverse("login")
    assert logged_in_as(attacker) is None
    assert "is not linked to a Landmark account" in html(attacker.get(reverse("login")))

    # Nothing of Alice's changed, and Acme's data stayed out of reach.
    assert not SocialAccount.objects.filter(user=alice).exists()
    assert User.objects.filter(pk=alice.pk).values().get() == alice_before
    assert list(Membership.objects.filter(user=alice)) == [
        Membership.objects.get(organization=org, user=alice)
    ]
    assert attacker.get(reverse("objective", args=[objective.pk])).status_code == 302
    assert mallory.get(reverse("objective", args=[objective.pk])).status_code == 404


def test_the_pre_hijack_variant_never_reaches_the_victims_organization(
    alice, org, objective, idp, dns_server, django_capture_on_commit_callbacks
):
    """Mallory's provider makes an account for an address before its owner ever
    uses Landmark; later the owner's organization invites that address."""
    mallory = mallory_signs_up()
    evil = Organization.objects.get(name="Evil Corp")
    mallory.post(
        reverse("sso_settings"),
        {
            "server_url": idp.url,
            "client_id": "evil",
            "client_secret": "evil-secret",
            "domains": "acme.test",
            "enabled": "on",
        },
    )
    newcomer = "nadia@acme.test"

    # Unproven domain: her provider creates nothing.
    attacker = Client()
    refused = provider_login(
        attacker, idp, f"org-{evil.pk}", sub="nadia-at-evil", email=newcomer
    )
    assert refused["Location"] == reverse("login")
    assert not User.objects.filter(email=newcomer).exists()

    # Defence in depth: suppose she did prove the domain; her provider now makes
    # Nadia's account (it belongs to Evil Corp's provider from the start).
    claim = SSODomain.objects.get(organization=evil)
    dns_server.publish("acme.test", claim.token)
    mallory.post(reverse("sso_check"))
    made = provider_login(
        attacker, idp, f"org-{evil.pk}", sub="nadia-at-evil", email=newcomer
    )
    assert made["Location"] == reverse("focus")
    nadia = User.objects.get(email=newcomer)

    # Later Acme invites Nadia. From Mallory's SSO session the link is refused.
    tokens: list[str] = []
    actions.invite_member(
        org=org,
        email=newcomer,
        role=Membership.Role.ADMIN,
        teams=[],
        invited_by=alice,
        build_link=lambda token: tokens.append(token) or token,  # type: ignore[func-returns-value]
    )
    accept = reverse("invitation_accept", args=[tokens[0]])
    blocked = attacker.post(accept)
    assert "opens Evil Corp only" in html(blocked)
    assert not Membership.objects.filter(organization=org, user=nadia).exists()

    # The real Nadia takes her address back by email (password reset) and accepts.
    nadia_browser = Client()
    nadia_browser.post(reverse("account_reset_password"), {"email": newcomer})
    reset = link_in(mail.outbox[-1], "/accounts/password/reset/key/")
    form = nadia_browser.get(reset, follow=True)
    set_url = form.redirect_chain[-1][0] if form.redirect_chain else reset
    nadia_browser.post(set_url, {"password1": PASSWORD, "password2": PASSWORD})
    nadia_browser.post(reverse("login"), {"login": newcomer, "password": PASSWORD})
    joined = nadia_browser.post(accept)
    assert joined["Location"] == reverse("focus")
    assert Membership.objects.get(organization=org, user=nadia).role == "admin"

    # Mallory's provider still logs in as Nadia, but that session opens Evil Corp
    # only: not by switching, not through the API, not by URL.
    session = Client()
    provider_login(session, idp, f"org-{evil.pk}", sub="nadia-at-evil", email=newcomer)
    assert logged_in_as(session) == nadia.pk
    session.post(reverse("switch_org"), {"organization": org.pk})
    assert "opens Evil Corp only" in html(session.get(reverse("focus")))
    assert session.get("/api/v1/organization").json()["name"] == "Evil Corp"
    assert session.get(reverse("objective", args=[objective.pk])).status_code == 404
    assert objective.title not in html(session.get(reverse("tree")))
    # Meanwhile Nadia's own password session opens Acme as usual.
    nadia_browser.post(reverse("switch_org"), {"organization": org.pk})
    assert nadia_browser.get(reverse("objective", args=[objective.pk])).status_code == (
        200
    )
