"""No public page or open-data file shows a sensitive organization's real name, nor any need's
exact location (the confidential location_detail; for a sensitive organization, its district
too): /funding/ in every language, the public summary (JSON, CSV, HXL), the IATI files, flows."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.funding.selectors import localized_name
from apps.reference.models import Province
from tests.apps.funding import world
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

PUBLIC_LOCATION = "Near the Kabul river bridge, house 9"


@pytest.fixture
def published(db):
    """The world, with every organization publishing open data (the sensitive one too: it is
    then published under its pseudonym), and a non-sensitive need's exact location set."""
    built = world.build()
    from apps.needs.models import Need
    from apps.organizations.models import Organization

    Organization.objects.update(publish_open_data=True)
    open_need = Need.objects.exclude(pk=built.sensitive_need.pk).first()
    open_need.location_detail = PUBLIC_LOCATION
    open_need.save(update_fields=["location_detail"])
    built.open_org = open_need.organization
    built.sensitive_org.refresh_from_db()
    return built


def public_bodies(built) -> dict[str, str]:
    """Every public answer, as text, by the URL (and language) it came from."""
    bodies = {}
    for language in ("en", "fa", "ps"):
        response = Client().get("/funding/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        bodies[f"/funding/ ({language})"] = response.content.decode()
    urls = ["/api/v1/public/funding-summary", "/api/v1/flows/"]
    urls += [f"{url}?format={kind}" for url in list(urls) for kind in ("csv", "hxl")]
    for org in (built.sensitive_org, built.open_org):
        urls += [
            f"/api/v1/organizations/{org.pk}/iati-activities.xml",
            f"/api/v1/organizations/{org.pk}/iati-organisation.xml",
        ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 200, (url, response.status_code)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        bodies[url] = content.decode()
    return bodies


def test_no_public_answer_names_a_sensitive_organization_or_an_exact_location(published):
    bodies = public_bodies(published)

    secret = published.sensitive_org
    leaks = {
        url: [
            s
            for s in (world.SECRET_NAME, world.SECRET_LOCATION, PUBLIC_LOCATION, "Qalat")
            if s in body
        ]
        for url, body in bodies.items()
    }
    assert leaks == {url: [] for url in bodies}
    # The files did speak of the sensitive organization: by its pseudonym.
    sensitive_iati = bodies[f"/api/v1/organizations/{secret.pk}/iati-organisation.xml"]
    assert secret.pseudonym in sensitive_iati
    assert "Zabul" in bodies[f"/api/v1/organizations/{secret.pk}/iati-activities.xml"]


def test_a_sensitive_organizations_amount_is_never_shown_alone(published):
    bodies = public_bodies(published)
    zabul = Province.objects.get(pk="AF26")
    for language in ("en", "fa", "ps"):
        body = bodies[f"/funding/ ({language})"]
        assert "7,777.77" not in body and "۷٬۷۷۷٫۷۷" not in body, language
        assert "Zabul" not in body and localized_name(zabul, language) not in body, language


def test_a_sensitive_organization_alone_in_a_province_stays_unseen(db):
    """Its province appears in no public figure until others make the cell large enough."""
    for _ in range(3):
        world.need(OrganizationFactory())
    school = OrganizationFactory(name=world.SECRET_NAME, sensitive=True, publish_open_data=False)
    world.need(school, province_id="AF26", amount=Decimal("900.00"))
    for language in ("en", "fa", "ps"):
        body = Client().get("/funding/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert "Zabul" not in body and world.SECRET_NAME not in body
    summary = Client().get("/api/v1/public/funding-summary").content.decode()
    assert "AF26" not in summary
