"""Lax input is refused: booleans are JSON booleans (query-string booleans exactly "true" or
"false"), an API key cannot expire in the past, and a page size is a whole number 1..200."""

from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone
from django_filters import BooleanFilter as LaxBooleanFilter
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend as LaxFilterBackend
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from apps.core.filters import BooleanFilter
from apps.core.filters import DjangoFilterBackend as FilterBackend
from apps.core.serializers import QueryBooleanField, StrictBooleanField
from apps.organizations.models import ApiKey, Organization
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import OrganizationFactory, PledgeFactory, UserFactory

NOT_JSON_BOOLEANS = ["yes", "true", "1", 1, 0, "on", ""]


# --- booleans in bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("value", NOT_JSON_BOOLEANS, ids=repr)
@pytest.mark.parametrize("name", ["anonymous", "auto_commit"])
def test_a_pledge_boolean_must_be_a_json_boolean(donor, donor_client, name, value):
    response = donor_client.post(
        "/api/v1/pledges/", {"amount": "100.00", "currency": "USD", name: value}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {name: ["Must be a JSON boolean: true or false."]}
    assert not Pledge.objects.filter(donor=donor).exists()


def test_a_json_boolean_is_taken(donor, donor_client):
    response = donor_client.post(
        "/api/v1/pledges/",
        {"amount": "100.00", "currency": "USD", "anonymous": True, "auto_commit": False},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert Pledge.objects.get(donor=donor).anonymous is True


@pytest.mark.parametrize("value", ["yes", "false", 0])
def test_an_organization_boolean_from_the_model_must_be_a_json_boolean(donor_client, value):
    body = {"name": "New Group", "kind": "ngo", "afghan_led": value}

    response = donor_client.post("/api/v1/organizations/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["afghan_led"]
    assert not Organization.objects.filter(name="New Group").exists()


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _writable_booleans(serializer, path=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        child = getattr(field, "child", None)
        if isinstance(field, serializers.BaseSerializer) and hasattr(field, "fields"):
            yield from _writable_booleans(field, f"{path}{name}.")
        elif isinstance(child, serializers.Serializer):
            yield from _writable_booleans(child, f"{path}{name}.")
        elif isinstance(field, serializers.BooleanField) or isinstance(
            child, serializers.BooleanField
        ):
            yield f"{path}{name}", child if child is not None else field


@pytest.mark.django_db
def test_every_boolean_the_api_reads_is_strict():
    """A guard for serializers written later: every writable boolean of every serializer of
    the API is a StrictBooleanField (or, in a query string, a QueryBooleanField), and every
    boolean filter is apps.core.filters.BooleanFilter."""
    assert get_resolver().url_patterns  # imports every view, so every serializer, of the API
    lax, checked = [], 0
    for cls in set(_subclasses(serializers.Serializer)):
        if not cls.__module__.startswith("apps.") or issubclass(cls, PolymorphicProxySerializer):
            continue  # not ours, or a schema-only proxy
        if issubclass(cls, serializers.ModelSerializer) and not hasattr(cls, "Meta"):
            continue  # a base without a model
        for path, field in _writable_booleans(cls()):
            checked += 1
            if not isinstance(field, StrictBooleanField | QueryBooleanField):
                lax.append(f"{cls.__module__}.{cls.__name__}.{path}")
    for filterset in set(_subclasses(FilterSet)):
        if filterset.__module__.startswith("apps."):
            for name, filter_ in filterset.base_filters.items():
                if isinstance(filter_, LaxBooleanFilter):
                    checked += 1
                    if not isinstance(filter_, BooleanFilter):
                        lax.append(f"{filterset.__module__}.{filterset.__name__}.{name}")
    assert checked >= 6  # pledges (2), reports, organizations (2), the organizations filter
    assert lax == []


def test_every_view_builds_its_filters_on_the_strict_filterset():
    """Filters a view declares as ``filterset_fields`` (reports' ``final``, API keys'
    ``revoked``) are built by apps.core.filters.DjangoFilterBackend, on the strict FilterSet."""
    lax = []
    for pattern in _patterns(get_resolver()):
        callback = pattern.callback
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view is None or not getattr(view, "filterset_fields", None):
            continue
        for backend in view.filter_backends:
            if issubclass(backend, LaxFilterBackend) and not issubclass(backend, FilterBackend):
                lax.append(view.__name__)
    assert lax == []


def _patterns(resolver):
    for entry in resolver.url_patterns:
        if hasattr(entry, "url_patterns"):
            yield from _patterns(entry)
        else:
            yield entry


# --- booleans in query strings ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "1", "True", "null"])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/organizations/", "afghan_led"),
        ("/api/v1/pledges/", "anonymous"),
        ("/api/v1/reports/", "final"),
        ("/api/v1/api-keys/", "revoked"),
    ],
)
def test_a_query_string_boolean_must_be_true_or_false(donor_client, path, name, value):
    response = donor_client.get(path, {name: value})

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [name]


def test_a_query_string_boolean_filters(donor_client):
    Organization.objects.update(afghan_led=True)
    other = OrganizationFactory(afghan_led=False)

    response = donor_client.get("/api/v1/organizations/", {"afghan_led": "false"})

    assert response.status_code == 200
    assert [o["id"] for o in response.json()["results"]] == [str(other.pk)]


@pytest.mark.parametrize("value", ["yes", "1", "null"])
def test_revoke_all_must_be_true_or_false_and_junk_revokes_nothing(db, value):
    user = UserFactory()
    first, second = client_for(user), client_for(user)

    response = first.post(f"/api/v1/auth/token/revoke?all={value}")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["all"]
    assert first.get("/api/v1/auth/me").status_code == 200
    assert second.get("/api/v1/auth/me").status_code == 200


def test_revoke_all_false_revokes_only_this_token(db):
    user = UserFactory()
    first, second = client_for(user), client_for(user)

    assert first.post("/api/v1/auth/token/revoke?all=false").status_code == 204

    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 200


# --- API key expiry -----------------------------------------------------------------------------


@pytest.mark.parametrize("ago", [timedelta(seconds=1), timedelta(days=400)])
def test_an_api_key_cannot_expire_in_the_past(org_x, admin_x, ago):
    body = {
        "organization": str(org_x.pk),
        "name": "late app",
        "scopes": ["organization:read"],
        "expires_at": (timezone.now() - ago).isoformat(),
    }

    response = client_for(admin_x).post("/api/v1/api-keys/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"expires_at": ["Must be in the future."]}
    assert not ApiKey.objects.filter(organization=org_x).exists()


def test_an_api_key_expiring_in_the_future_works_until_then(org_x, admin_x):
    expires_at = timezone.now() + timedelta(days=30)
    body = {
        "organization": str(org_x.pk),
        "name": "app",
        "scopes": ["organization:read"],
        "expires_at": expires_at.isoformat(),
    }

    response = client_for(admin_x).post("/api/v1/api-keys/", body, format="json")

    assert response.status_code == 201, response.content
    key = response.json()["key"]
    assert client_for(api_key=key).get(f"/api/v1/organizations/{org_x.pk}").status_code == 200


# --- page size ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", ["null", "", "0", "-1", "201", "1.5", "1e2", "two", "٣"])
def test_a_page_size_is_a_whole_number_from_1_to_200(donor_client, page_size):
    response = donor_client.get("/api/v1/pledges/", {"page_size": page_size})

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"page_size": ["Must be a whole number from 1 to 200."]}


@pytest.mark.parametrize("page_size", ["1", "200"])
def test_a_page_size_in_range_is_taken(donor, donor_client, page_size):
    PledgeFactory.create_batch(2, donor=donor)

    response = donor_client.get("/api/v1/pledges/", {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(2, int(page_size))
