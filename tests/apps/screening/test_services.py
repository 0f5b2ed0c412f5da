"""Screening organizations: a hit freezes them; clearing and confirming; idempotent rescreens."""

from decimal import Decimal

import pytest

from apps.organizations.models import VettingDecision
from apps.organizations.services import organization_register, organization_update
from apps.screening.models import ScreeningHit
from apps.screening.services import organization_screen
from tests.apps.screening.helpers import load_samples
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists():
    load_samples()


def register(**fields):
    defaults = {"name": "Herat Bread for Families", "kind": "ngo", "afghan_led": True}
    return organization_register(creator=UserFactory(), **{**defaults, **fields})


@pytest.mark.parametrize(
    "principal",
    [
        "Serajuddin Haqani",
        "Siraj al-Din Haqqani",
        "Mawlawi Sirajuddin Haqqani",
        "haqqani, SIRAJ-UD-DIN",
        "سراج الدین حقانی",
    ],
)
def test_a_listed_principal_puts_a_new_organization_in_screening(lists, principal):
    org = register(
        principals=[
            {"name": "Fatima Rahimi", "role": "chair"},
            {"name": principal, "role": "director"},
        ]
    )

    org.refresh_from_db()
    assert org.status == "screening"
    hits = ScreeningHit.objects.filter(organization=org)
    assert {h.entry_ref for h in hits} >= {"TAi.144"}
    hit = hits.get(source="un", entry_ref="TAi.144")
    assert hit.subject == principal and hit.subject_kind == "principal"
    assert hit.score >= Decimal("88") and hit.reasons
    assert hit.entry.primary_name == "SIRAJUDDIN JALLALOUDINE HAQQANI"
    decision = VettingDecision.objects.get(organization=org, action="screen")
    assert (decision.from_status, decision.to_status) == ("pending", "screening")


def test_an_unlisted_organization_stays_pending(lists):
    org = register(principals=[{"name": "Shukria Barakzai", "role": "director"}])

    org.refresh_from_db()
    assert org.status == "pending" and not ScreeningHit.objects.exists()


def test_an_organization_named_like_a_listed_entity_is_held(lists):
    org = register(name="Al-Rasheed Trust")

    assert org.status == "screening"
    assert ScreeningHit.objects.get(organization=org, source="un").entry_ref == "QDe.005"


def test_a_name_change_is_screened_and_freezes_a_verified_organization(lists):
    org = OrganizationFactory(status="verified")
    admin = MembershipFactory(organization=org, role="admin").user
    need = NeedFactory(organization=org)
    proposal = propose(PledgeFactory(), need, Decimal("40.00"))

    org = organization_update(
        actor=admin,
        organization=org,
        principals=[{"name": "Khalil ur-Rahman Haqqani", "role": "board"}],
    )

    assert org.status == "screening"
    proposal.refresh_from_db()
    need.refresh_from_db()
    assert proposal.status == "released" and need.proposed_amount == 0
    assert VettingDecision.objects.get(organization=org, action="screen").released_proposals == 1


def test_rescreening_is_idempotent(lists):
    org = register(principals=[{"name": "Sirajuddin Haqqani", "role": "director"}])
    first = list(ScreeningHit.objects.filter(organization=org).values_list("pk", flat=True))

    again = organization_screen(organization_id=org.pk, trigger="test")

    assert again.opened == [] and not again.frozen
    assert list(ScreeningHit.objects.filter(organization=org).values_list("pk", flat=True)) == first
    assert VettingDecision.objects.filter(organization=org, action="screen").count() == 1


def test_a_cleared_false_positive_does_not_hit_again(lists, verifier):
    from apps.screening.services import screening_hit_clear

    org = register(principals=[{"name": "Yahya Haqqani", "role": "director"}])
    for hit in ScreeningHit.objects.filter(organization=org):
        screening_hit_clear(hit_id=hit.pk, verifier=verifier, reason="other person, ID checked")
    org.refresh_from_db()
    assert org.status == "pending"

    result = organization_screen(organization_id=org.pk, trigger="test")

    org.refresh_from_db()
    assert result.opened == [] and org.status == "pending"
    assert not ScreeningHit.objects.filter(organization=org, resolution="").exists()


def test_a_suspended_organization_stays_suspended_with_an_open_hit(lists):
    org = OrganizationFactory(
        status="suspended", principals=[{"name": "Nooruddin Turabi", "role": "x"}]
    )

    result = organization_screen(organization_id=org.pk, trigger="test")

    org.refresh_from_db()
    assert org.status == "suspended" and len(result.opened) == 1 and not result.frozen


# --- Issue 15: initials, entities in any field, common names, relatives --------------------------


def _refs(org) -> set[str]:
    return set(ScreeningHit.objects.filter(organization=org).values_list("entry_ref", flat=True))


def test_a_principal_named_by_initial_and_surname_is_held_with_the_reason(lists):
    org = register(principals=[{"name": "S. Haqqani", "role": "director"}])

    org.refresh_from_db()
    assert org.status == "screening"
    assert _refs(org) == {"TAi.144", "9001"}  # Sirajuddin only: not his father or brothers
    hit = ScreeningHit.objects.get(organization=org, entry_ref="TAi.144")
    assert any("initial" in reason for reason in hit.reasons)


def test_a_listed_network_entered_as_a_principal_reaches_the_entity(lists):
    org = register(principals=[{"name": "Haqqani Network", "role": "board"}])

    org.refresh_from_db()
    assert org.status == "screening" and _refs(org) == {"TAe.012", "9006"}
    assert {h.subject_kind for h in ScreeningHit.objects.filter(organization=org)} == {"principal"}


def test_an_organization_named_in_dari_after_a_listed_network_is_held(lists):
    org = register(name="شبکه حقانی")

    org.refresh_from_db()
    assert org.status == "screening" and _refs(org) == {"TAe.012", "9006"}


def test_common_given_names_alone_leave_an_organization_pending(lists):
    org = register(
        principals=[
            {"name": "Abdul Basir", "role": "director"},
            {"name": "Mohammad Hassan", "role": "chair"},
            {"name": "Abdul Basir Karimi", "role": "treasurer"},
        ]
    )

    org.refresh_from_db()
    assert org.status == "pending" and not ScreeningHit.objects.filter(organization=org).exists()


def test_a_principal_in_arabic_script_hits_the_listed_man_and_not_his_relatives(lists):
    org = register(principals=[{"name": "محمد حسن آخوند", "role": "director"}])
    other = register(
        name="Khost Wheat Growers", principals=[{"name": "سراج الدین حقانی", "role": "director"}]
    )

    assert _refs(org) == {"TAi.002"}  # not Mohammad Abbas Akhund
    assert _refs(other) == {"TAi.144", "9001"}  # not Jalaluddin, Nasiruddin or Badruddin
