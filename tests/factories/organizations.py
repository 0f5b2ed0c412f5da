import factory

from aidmatch.access import MemberRole
from apps.organizations.models import ApiKey, Membership, Organization, OrganizationStatus
from tests.factories.accounts import UserFactory


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Afghan Relief Group {n}")
    kind = "ngo"
    afghan_led = True
    status = OrganizationStatus.VERIFIED
    province_id = "AF01"
    contact_name = "Contact Person"
    contact_email = factory.Sequence(lambda n: f"contact{n}@ngo.example.org")
    contact_phone = "+93 70 000 0000"
    address = "House 12, Street 3, Kabul"
    principals = factory.LazyFunction(lambda: [{"name": "Director Name", "role": "director"}])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = MemberRole.STAFF


class ApiKeyFactory:
    """API keys are created through their manager (the text is returned once)."""

    @staticmethod
    def create(*, organization, scopes, name="partner app") -> tuple[ApiKey, str]:
        return ApiKey.objects.create_key(organization=organization, scopes=scopes, name=name)
