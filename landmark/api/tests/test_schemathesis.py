"""Schemathesis fuzzes every API operation against the OpenAPI schema, in-process
through WSGI (no server), with all its checks: no server error, responses that
conform to the schema (status, content type, headers, body), invalid data rejected,
valid data accepted, authentication enforced (requests without or with a wrong token
must be refused), unsupported methods answered 405 with Allow.

It runs against a database with realistic data (an organization with people, a team,
a period, an objective with its key results, KPIs with values) using the owner's
read-and-write token. Examples per operation are bounded to keep the suite fast.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from landmark.api.tests.conftest import token_for
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.tests.fakes import running_dns

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": 12,
            "deterministic": True,
            "database": "none",
        },
        "checks": {
            # Every check stays on. One expectation is widened, with its reason: an id
            # in a body (a period, an owner, a team) is valid by the schema's types,
            # but an id that is not in the caller's organization is a field error
            # (422), which the schema cannot say in advance; and an If-Match that is
            # not the object's current ETag is refused (412) by design.
            # Invalid data is refused with a 4xx; a batch over the size limit with
            # 413 Content Too Large (schemathesis' default list lacks it).
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                ]
            },
            "positive_data_acceptance": {
                "expected-statuses": [
                    "2xx",
                    "401",
                    "403",
                    "404",
                    "409",
                    "412",
                    "422",
                    "429",
                ]
            },
        },
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", get_wsgi_application(), config=CONFIG
)


@pytest.fixture(autouse=True)
def connections_kept_across_requests():
    """As Django's test client does: the WSGI handler closes database connections at
    the end of each request, which on PostgreSQL would close the test's own
    connection, inside the transaction that isolates the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def names_resolve_on_loopback(settings):
    """Webhook addresses the fuzzer makes up are looked up (the SSRF guard) on a
    loopback DNS server, which knows none of them: never the machine's resolver."""
    with running_dns() as fake:
        settings.OUTBOUND_NAMESERVERS = [fake.address]
        settings.OUTBOUND_TIMEOUT = 2
        yield


@pytest.fixture
def owner_token(settings, org, alice, bob, viewer, key_results, sales) -> str:
    """Acme with people, a team, an active period, an objective with a metric, a
    threshold and a milestone key result, and two KPIs with values."""
    settings.API_RATE_LIMIT = 1_000_000  # the fuzzer may send thousands of requests
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Deals won",
        owner=alice,
        team=sales,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal("100"),
    )
    for days in range(5):
        kpi_actions.record_data_point(
            kpi=kpi,
            value=Decimal(50 + days),
            time=timezone.now() - timedelta(days=days, minutes=5),
            author=alice,
        )
    kpi_actions.create_kpi(org=org, name="Churn", key="churn")
    return token_for(alice)


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_the_api_conforms_to_its_schema(case, owner_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {owner_token}"})
