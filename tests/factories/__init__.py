from tests.factories.accounts import UserFactory
from tests.factories.matching import propose
from tests.factories.needs import NeedFactory
from tests.factories.organizations import ApiKeyFactory, MembershipFactory, OrganizationFactory
from tests.factories.pledges import PledgeFactory

__all__ = [
    "ApiKeyFactory",
    "MembershipFactory",
    "NeedFactory",
    "OrganizationFactory",
    "PledgeFactory",
    "UserFactory",
    "propose",
]
