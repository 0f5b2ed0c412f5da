"""Who sees which portal page: members of the organization (admins for members and API keys);
anyone else is sent to sign in (302), refused (403), or told there is nothing (404, as the API
answers for another organization's objects). No page leaks another organization's data, every
page is under 100 KB, and a POST without the CSRF token is refused."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.disbursements.models import Disbursement
from apps.matching.services.allocations import allocation_commit
from apps.needs.models import Need
from tests.apps.portal.conftest import assert_small, signed_in
from tests.factories import MembershipFactory, PledgeFactory, UserFactory, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_tranche(need_x, donor):
    pledge = PledgeFactory(donor=donor, amount=Decimal("70000.00"), currency_id="AFN")
    allocation = propose(pledge, need_x, Decimal("70000.00"))
    allocation = allocation_commit(allocation_id=allocation.pk)
    from apps.disbursements import services

    tranche = services.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=Decimal("35000.00"),
        currency=pledge.currency,
        channel="hawala",
    )
    return services.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)


def _member_pages(need, tranche):
    return [
        "/portal/",
        "/portal/needs/new",
        f"/portal/needs/{need.pk}",
        f"/portal/needs/{need.pk}/edit",
        f"/portal/needs/{need.pk}/report",
        f"/portal/tranches/{tranche.pk}/confirm",
    ]


ADMIN_PAGES = ["/portal/members", "/portal/api-keys"]


@pytest.mark.parametrize("language", ["en", "fa", "ps"])
def test_every_page_renders_for_a_member_small_and_in_their_language(
    admin_x, need_x, sent_tranche, language
):
    client = signed_in(admin_x, language)
    for url in [*_member_pages(need_x, sent_tranche), *ADMIN_PAGES]:
        page = client.get(url)
        assert page.status_code == 200, (url, page.content[:500])
        rtl = "rtl" if language != "en" else "ltr"
        assert f'<html lang="{language}" dir="{rtl}">' in page.content.decode(), url
        assert 'action="/portal/language"' in page.content.decode(), url  # the switch
        switch = {"en": "Language", "fa": "زبان", "ps": "ژبه"}[language]
        assert f'<label for="lang-select">{switch}</label>' in page.content.decode(), url
        assert_small(page)


def test_a_visitor_is_sent_to_sign_in(need_x, sent_tranche):
    for url in [*_member_pages(need_x, sent_tranche), *ADMIN_PAGES]:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/portal/sign-in?next="), url


def test_someone_signed_in_who_is_no_organizations_member_is_refused(need_x, sent_tranche):
    client = signed_in(UserFactory())
    for url in [*_member_pages(need_x, sent_tranche), *ADMIN_PAGES]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "This portal is for members of an organization." in response.content.decode()
    assert client.post(f"/portal/needs/{need_x.pk}/submit").status_code == 403


def test_another_organizations_member_sees_none_of_it(admin_y, org_y, need_x, sent_tranche):
    client = signed_in(admin_y)
    dashboard = client.get("/portal/").content.decode()
    assert need_x.title not in dashboard and "Kandahar Food Program" not in dashboard
    assert str(sent_tranche.pk) not in dashboard
    for url in _member_pages(need_x, sent_tranche)[2:]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert need_x.title not in response.content.decode()
    # Nor can they act on it.
    need_x.status = "draft"
    need_x.save(update_fields=["status"])
    assert client.post(f"/portal/needs/{need_x.pk}/submit").status_code == 404
    assert (
        client.post(
            f"/portal/tranches/{sent_tranche.pk}/confirm", {"received_amount": "35000"}
        ).status_code
        == 404
    )
    assert Need.objects.get(pk=need_x.pk).status == "draft"
    assert Disbursement.objects.get(pk=sent_tranche.pk).status == "sent"
    # Their own organization's admin pages show their organization only.
    members = client.get("/portal/members").content.decode()
    assert org_y.name in members and "Kandahar Food Program" not in members


def test_members_and_api_keys_are_for_admins_only(staff_x, need_x):
    client = signed_in(staff_x)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    assert (
        client.post("/portal/members", {"email": "x@example.org", "role": "staff"}).status_code
        == 403
    )
    assert (
        client.post("/portal/api-keys", {"name": "x", "scopes": ["needs:read"]}).status_code == 403
    )
    dashboard = client.get("/portal/").content.decode()
    assert "/portal/members" not in dashboard and "/portal/api-keys" not in dashboard


def test_a_post_without_the_csrf_token_is_refused(staff_x, need_x):
    need_x.status = "draft"
    need_x.save(update_fields=["status"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_x)

    assert client.post(f"/portal/needs/{need_x.pk}/submit").status_code == 403
    assert client.post("/portal/sign-out").status_code == 403
    assert client.post("/portal/language", {"language": "fa"}).status_code == 403
    assert Need.objects.get(pk=need_x.pk).status == "draft"
    # With the token from the page, the same POST goes through.
    page = client.get(f"/portal/needs/{need_x.pk}").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    submitted = client.post(f"/portal/needs/{need_x.pk}/submit", {"csrfmiddlewaretoken": token})
    assert submitted.status_code == 302
    assert Need.objects.get(pk=need_x.pk).status == "submitted"


def test_a_member_of_two_organizations_switches_between_them(admin_x, org_x, org_y, need_x):
    MembershipFactory(user=admin_x, organization=org_y)
    client = signed_in(admin_x)
    # The first by name to begin with: Balkh Schools Network.
    assert need_x.title not in client.get("/portal/").content.decode()

    client.post("/portal/organization", {"organization": str(org_x.pk)})

    assert need_x.title in client.get("/portal/").content.decode()
    # An organization they are not a member of cannot be chosen.
    stranger = MembershipFactory().organization
    client.post("/portal/organization", {"organization": str(stranger.pk)})
    page = client.get("/portal/").content.decode()
    assert stranger.name not in page and need_x.title in page


def test_the_dashboards_queries_do_not_grow_with_its_rows(staff_x, org_x, donor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import NeedFactory

    client = signed_in(staff_x)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/portal/").status_code == 200
        return len(captured)

    def add_rows():
        need = NeedFactory(organization=org_x, currency_id="AFN", amount=Decimal("1000"))
        pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"), currency_id="AFN")
        propose(pledge, need, Decimal("500.00"))

    add_rows()
    few = queries()
    for _ in range(5):
        add_rows()
    assert queries() == few
