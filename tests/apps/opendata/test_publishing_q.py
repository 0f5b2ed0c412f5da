"""``publishing_q`` is ``is_publishing`` as a filter, on the organization or through a relation."""

import pytest

from apps.needs.models import Need
from apps.opendata.selectors import is_publishing, publishing_organizations, publishing_q
from tests.factories import NeedFactory, OrganizationFactory


@pytest.mark.django_db
def test_publishing_q_agrees_with_is_publishing_directly_and_through_a_relation():
    orgs = [
        OrganizationFactory(publish_open_data=True),
        OrganizationFactory(publish_open_data=False),
        OrganizationFactory(publish_open_data=True, status="pending"),
        OrganizationFactory(publish_open_data=True, kind="donor_institution"),
        OrganizationFactory(publish_open_data=True, sensitive=True),
    ]
    needs = {org.pk: NeedFactory(organization=org).pk for org in orgs}

    expected = {org.pk for org in orgs if is_publishing(org)}

    assert expected == {orgs[0].pk, orgs[4].pk}
    assert set(publishing_organizations().values_list("pk", flat=True)) == expected
    shown = Need.objects.filter(publishing_q("organization__")).values_list("pk", flat=True)
    assert set(shown) == {needs[pk] for pk in expected}
