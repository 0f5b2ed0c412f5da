"""A small, realistic world to try the API with. Safe to build again: it reuses what exists."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from aidmatch.access import MemberRole, PlatformRole
from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.fx.services import SAMPLE_RATES, exchange_rates_carry_forward, exchange_rates_load_file
from apps.needs import services as need_services
from apps.needs.models import Need
from apps.organizations.models import Membership, Organization, OrganizationStatus

DEMO_RATE_SOURCE = "demo"
DEMO_PASSWORD = "demo-Pass-2026!"  # noqa: S105 (printed for the demo, on purpose)


@dataclass
class DemoWorld:
    users: dict[str, User] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    needs: dict[str, Need] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


PEOPLE = {
    "donor": ("donor@example.org", "Amina Donor", PlatformRole.NONE),
    "donor2": ("fund@example.org", "Diaspora Relief Fund", PlatformRole.NONE),
    "verifier": ("verifier@example.org", "Vera Verifier", PlatformRole.VERIFIER),
    "food_admin": ("admin@kabul-food.example.org", "Farid Ahmadi", PlatformRole.NONE),
    "food_staff": ("staff@kabul-food.example.org", "Zarghona Staff", PlatformRole.NONE),
    "school_admin": ("admin@learning.example.org", "Malalai Admin", PlatformRole.NONE),
}

ORGANIZATIONS = {
    "food": dict(
        name="Kabul Family Food Relief",
        kind="food_distributor",
        afghan_led=True,
        sensitive=False,
        registration_number="MoEc-4471",
        registry="Ministry of Economy",
        iati_org_id="AF-MOE-4471",  # IATI's prefix for the Ministry of Economy's NGO register
        publish_open_data=True,
        province_id="AF01",
        contact_name="Farid Ahmadi",
        contact_email="contact@kabul-food.example.org",
        contact_phone="+93 70 000 0001",
        address="District 5, Kabul",
        principals=[{"name": "Farid Ahmadi", "role": "director"}],
    ),
    "school": dict(
        name="Herat Girls' Learning Circle",
        kind="school_network",
        afghan_led=True,
        sensitive=True,
        publish_open_data=True,  # under its pseudonym only: see README, Open data
        registration_number="",
        registry="",
        province_id="AF32",
        contact_name="Malalai",
        contact_email="hello@learning.example.org",
        contact_phone="+93 79 000 0002",
        address="(withheld)",
        principals=[{"name": "Malalai", "role": "coordinator"}],
    ),
}

MEMBERS = {"food_admin": ("food", MemberRole.ADMIN), "food_staff": ("food", MemberRole.STAFF)}
MEMBERS["school_admin"] = ("school", MemberRole.ADMIN)


@transaction.atomic
def build_world() -> DemoWorld:
    world = DemoWorld()
    for handle, (email, name, role) in PEOPLE.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, DEMO_PASSWORD, full_name=name, platform_role=role
            )
        world.users[handle] = user
    for handle, fields in ORGANIZATIONS.items():
        org = Organization.objects.filter(name=fields["name"]).first()
        if org is None:
            org = Organization.objects.create(
                status=OrganizationStatus.VERIFIED, created_by=world.users["verifier"], **fields
            )
        world.organizations[handle] = org
    for handle, (org_handle, role) in MEMBERS.items():
        Membership.objects.get_or_create(
            user=world.users[handle],
            organization=world.organizations[org_handle],
            defaults={"role": role},
        )
    _needs(world)
    _monthly_gift(world)
    # Sample 2026 rates (UN operational, Da Afghanistan Bank): EUR pledges meet AFN needs. Rates
    # older than FX_MAX_RATE_AGE_DAYS are not used, so their newest values are recorded again,
    # dated today, from the source "demo".
    exchange_rates_load_file(path=SAMPLE_RATES, created_by=world.users["verifier"])
    exchange_rates_carry_forward(
        path=SAMPLE_RATES,
        on=timezone.now().date(),
        source=DEMO_RATE_SOURCE,
        created_by=world.users["verifier"],
    )
    for handle, user in world.users.items():
        _, text = account_services.token_create(user=user)  # TOKEN_TTL_DAYS, like any token
        world.tokens[handle] = text
    return world


NEEDS = {
    "food": dict(
        org="food",
        title="Food packages for 40 widow-headed families, Kabul, 5 weeks",
        description="Flour, rice, oil, beans and tea, delivered to each family's door.",
        sector_id="food_security",
        province_id="AF01",
        location_detail="Distribution from the community hall behind the bakery, District 5",
        beneficiaries_women=60,
        beneficiaries_girls=90,
        beneficiaries_men=10,
        beneficiaries_boys=80,
        currency_id="USD",
        urgency=5,
        days=30,
        line_items=[
            {
                "description": "Food package, family of 8, 5 weeks",
                "unit": "package",
                "unit_cost": Decimal("112.50"),
                "quantity": 40,
            },
            {
                "description": "Delivery",
                "unit": "trip",
                "unit_cost": Decimal("75.00"),
                "quantity": 4,
            },
        ],
    ),
    "school": dict(
        org="school",
        title="Teacher stipends and books for a home school, one term",
        description="Three teachers and books for 45 girls in grades 7 to 9.",
        sector_id="education",
        province_id="AF32",
        location_detail="(confidential)",
        beneficiaries_women=3,
        beneficiaries_girls=45,
        currency_id="AFN",
        urgency=4,
        days=60,
        line_items=[
            {
                "description": "Teacher stipend, month",
                "unit": "month",
                "unit_cost": Decimal("7000.00"),
                "quantity": 12,
            },
            {
                "description": "Book set",
                "unit": "set",
                "unit_cost": Decimal("900.00"),
                "quantity": 45,
            },
        ],
    ),
}


def _monthly_gift(world: DemoWorld) -> None:
    """A recurring pledge: the diaspora fund gives the food program 200 USD every month, from
    today (Kabul); the beat makes each month's pledge (README, "Giving every month")."""
    from aidmatch.schedules import DEFAULT_TIME_ZONE, zone
    from apps.pledges.models import PledgeSchedule
    from apps.pledges.schedules import schedule_create
    from apps.reference.models import Currency

    donor = world.users["donor2"]
    if PledgeSchedule.objects.filter(donor=donor).exists():
        return
    today = timezone.now().astimezone(zone(DEFAULT_TIME_ZONE)).date()
    schedule_create(
        donor=donor,
        amount=Decimal("200.00"),
        currency=Currency.objects.get(code="USD"),
        interval="monthly",
        day_of_month=min(today.day, 28),
        start_date=today,
        earmark_organization=world.organizations["food"],
        public_message="Every month, for the families' food baskets.",
    )


def _needs(world: DemoWorld) -> None:
    """Open needs, created, submitted and approved through the services."""
    for handle, spec in NEEDS.items():
        spec = dict(spec)
        org = world.organizations[spec.pop("org")]
        title = spec["title"]
        need = Need.objects.filter(organization=org, title=title).first()
        if need is None:
            days = spec.pop("days")
            need = need_services.need_create(
                organization=org,
                created_by=org.memberships.first().user,
                deadline=timezone.now().date() + timedelta(days=days),
                **spec,
            )
            need_services.need_submit(need_id=need.pk)
            need = need_services.need_approve(need_id=need.pk, verifier=world.users["verifier"])
        world.needs[handle] = need
