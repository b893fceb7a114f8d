"""Single sign-on goes through the SSRF guard: the issuer an admin types is checked on
the settings page, and every request allauth's OpenID Connect flow sends (discovery,
token, userinfo) is checked again when it is sent. The provider and the internal
service it points at are web servers on loopback; a DNS server on loopback names them,
as an attacker's DNS would."""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.test import Client
from django.urls import reverse

from landmark.lib.tests.loopback import DNSServer, WebServer, send
from landmark.orgs import actions
from landmark.orgs.models import OrganizationSSO, User
from landmark.orgs.tests.test_views import field_error, html
from landmark.tests.fakes import proven


@pytest.fixture
def names(settings) -> Iterator[DNSServer]:
    """idp.acme.test is the organization's provider, inside the operator's network
    and allowed by name; internal.acme.test is another service on the same network
    that nobody allowed."""
    server = DNSServer()
    server.answers["idp.acme.test"] = [["127.0.0.1"]]
    server.answers["internal.acme.test"] = [["127.0.0.1"]]
    with server.running():
        settings.OUTBOUND_NAMESERVERS = [server.address]
        settings.OUTBOUND_ALLOWED_HOSTS = ["idp.acme.test"]
        settings.OUTBOUND_TIMEOUT = 2
        yield server


@pytest.fixture
def internal() -> Iterator[WebServer]:
    with WebServer().running() as server:
        server.routes["/token"] = lambda h: send(
            h, b'{"access_token": "internal", "token_type": "Bearer"}'
        )
        server.routes["/userinfo"] = lambda h: send(
            h, b'{"sub": "x", "email": "mallory@acme.test"}'
        )
        yield server


def provider(endpoints: dict[str, str]) -> WebServer:
    """An OpenID Connect provider at idp.acme.test whose discovery document names
    `endpoints` (its own by default)."""
    idp = WebServer()
    own = idp.url("idp.acme.test")
    document = {
        "issuer": own,
        "authorization_endpoint": f"{own}authorize",
        "token_endpoint": f"{own}token",
        "userinfo_endpoint": f"{own}userinfo",
        "jwks_uri": f"{own}jwks",
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        **endpoints,
    }
    idp.routes["/.well-known/openid-configuration"] = lambda h: send(
        h, json_bytes(document)
    )
    idp.routes["/token"] = lambda h: send(
        h, b'{"access_token": "at-1", "token_type": "Bearer", "expires_in": 60}'
    )
    idp.routes["/userinfo"] = lambda h: send(
        h, json_bytes({"sub": "nina", "email": "nina@acme.test"})
    )
    return idp


def json_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def sign_in(client: Client, email: str):
    """Sign in with SSO as `email` up to Landmark's callback, as a browser would."""
    to_idp = client.post(reverse("sso_login"), {"email": email})
    assert to_idp.status_code == 302, html(to_idp)
    query = parse_qs(urlparse(to_idp["Location"]).query)
    callback = urlparse(query["redirect_uri"][0]).path
    return client.get(callback, {"code": "code-1", "state": query["state"][0]})


def sso_of(org, idp: WebServer) -> OrganizationSSO:
    """The organization's SSO through `idp`, its domain proven."""
    return proven(
        actions.save_sso(
            org=org,
            server_url=idp.url("idp.acme.test").rstrip("/"),
            client_id="landmark-acme",
            client_secret="acme-client-secret",
            domains=["acme.test"],
            enabled=True,
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["token_endpoint", "userinfo_endpoint"])
def test_sso_refuses_a_provider_whose_endpoints_point_to_a_private_address(
    org, names, internal, endpoint
):
    path = endpoint.removesuffix("_endpoint")
    idp = provider({endpoint: internal.url("internal.acme.test", f"/{path}")})
    with idp.running():
        sso_of(org, idp)
        client = Client()

        refused = sign_in(client, "nina@acme.test")

        assert "Third-Party Login Failure" in html(refused)
    assert internal.hits == []
    assert not User.objects.filter(email="nina@acme.test").exists()
    assert not SocialAccount.objects.exists()
    assert client.get(reverse("focus"))["Location"].startswith(reverse("login"))
    # The provider itself was reached: only the private endpoint was refused.
    assert idp.hits[0][0] == "/.well-known/openid-configuration"


@pytest.mark.django_db
def test_the_same_provider_with_its_own_endpoints_signs_people_in(org, names):
    idp = provider({})
    with idp.running():
        sso_of(org, idp)
        client = Client()

        done = sign_in(client, "nina@acme.test")

    assert done["Location"] == reverse("focus"), html(done)
    assert User.objects.filter(email="nina@acme.test").exists()
    paths = [hit[0] for hit in idp.hits]
    # allauth reads the discovery document at the start and again at the callback.
    assert paths[-2:] == ["/token", "/userinfo"]
    assert set(paths[:-2]) == {"/.well-known/openid-configuration"}
    assert idp.hits[0][1] == f"idp.acme.test:{idp.port}"


@pytest.mark.django_db
def test_sign_in_says_so_when_the_issuer_itself_is_not_allowed(org, names, settings):
    idp = provider({})
    with idp.running():
        sso_of(org, idp)
        settings.OUTBOUND_ALLOWED_HOSTS = []  # the operator took it off the list

        response = Client().post(reverse("sso_login"), {"email": "nina@acme.test"})

    assert response.status_code == 200
    assert "may not connect to" in field_error(html(response), "email")
    assert idp.hits == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("server_url", "https_only", "message"),
    [
        ("http://127.0.0.1:8080/realms/acme", False, "private, local or reserved"),
        ("http://169.254.169.254/latest", False, "private, local or reserved"),
        ("https://internal.acme.test/realms/acme", False, "private, local or reserved"),
        ("http://idp.acme.test/realms/acme", True, "must start with https://"),
    ],
)
def test_the_settings_page_refuses_an_issuer_the_guard_would_refuse(
    alice_client, names, settings, server_url, https_only, message
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["idp.acme.test"]
    settings.OUTBOUND_HTTPS_ONLY = https_only

    response = alice_client.post(
        reverse("sso_settings"),
        {
            "server_url": server_url,
            "client_id": "landmark",
            "client_secret": "s3cret-value",
            "domains": "acme.test",
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert message in field_error(html(response), "server_url")
    assert not SocialApp.objects.exists()
    assert not OrganizationSSO.objects.exists()


@pytest.mark.django_db
def test_the_settings_page_takes_an_allowed_internal_issuer(alice_client, names, org):
    response = alice_client.post(
        reverse("sso_settings"),
        {
            "server_url": "http://idp.acme.test/realms/acme",
            "client_id": "landmark",
            "client_secret": "s3cret-value",
            "domains": "acme.test",
            "enabled": "on",
        },
    )

    assert response["Location"] == reverse("sso_settings")
    app = OrganizationSSO.objects.get(organization=org).social_app
    assert app.settings["server_url"] == "http://idp.acme.test/realms/acme"
