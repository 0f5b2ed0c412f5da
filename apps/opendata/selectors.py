"""Who open data may show, read from the database: every export (IATI, HXL, flows, CSV of
public figures) starts here, so the rules of ``aidmatch.opendata`` hold in one place."""

from types import SimpleNamespace

from django.conf import settings
from django.db.models import Q, QuerySet

from aidmatch.opendata import Party, count_shown, donor_party, organization_party
from apps.organizations.models import Organization, OrganizationKind, OrganizationStatus


def publishing_organizations() -> QuerySet[Organization]:
    """Organizations whose needs and funding are published: opted in and verified."""
    return Organization.objects.filter(publishing_q())


def publishing_q(prefix: str = "") -> Q:
    """The filter of :func:`publishing_organizations`, on the organization at ``prefix`` (e.g.
    ``"need__organization__"``): for querysets that reach organizations through a relation."""
    return Q(
        **{
            f"{prefix}publish_open_data": True,
            f"{prefix}status": OrganizationStatus.VERIFIED,
        }
    ) & ~Q(**{f"{prefix}kind": OrganizationKind.DONOR_INSTITUTION})


def _opted_in(organization) -> bool:
    """Opted in and verified: the condition an organization, or a donor institution, is
    published (or named) on."""
    return organization.publish_open_data and organization.status == OrganizationStatus.VERIFIED


def is_publishing(organization: Organization) -> bool:
    return _opted_in(organization) and organization.kind != OrganizationKind.DONOR_INSTITUTION


def organization_shown(organization: Organization) -> Party:
    """A publishing organization as open data names it (pseudonym only, when sensitive)."""
    return organization_party(
        name=organization.name,
        pseudonym=organization.pseudonym,
        sensitive=organization.sensitive,
        iati_org_id=organization.iati_org_id,
    )


def donor_shown(pledge) -> Party:
    """A pledge's donor as open data names it. Reads ``pledge.donor_organization`` (select it
    with the pledge); never the donor person's name or email."""
    institution = pledge.donor_organization
    return donor_party(
        anonymous=pledge.anonymous,
        institution=organization_shown(institution) if institution is not None else None,
        institution_publishes=institution is not None and _opted_in(institution),
    )


_INSTITUTION_FIELDS = (
    "name",
    "pseudonym",
    "sensitive",
    "iati_org_id",
    "publish_open_data",
    "status",
)
# What ``donor_shown_from_values`` reads of a pledge: ``Pledge.objects.values(*DONOR_VALUES)``.
DONOR_VALUES = (
    "anonymous",
    "donor_organization_id",
    *(f"donor_organization__{name}" for name in _INSTITUTION_FIELDS),
)


def donor_shown_from_values(row: dict) -> Party:
    """``donor_shown`` on a pledge read as ``values(*DONOR_VALUES)``: for exports that read
    pledges in bulk (no model built, nothing decrypted)."""
    institution = None
    if row["donor_organization_id"] is not None:
        institution = SimpleNamespace(
            **{name: row[f"donor_organization__{name}"] for name in _INSTITUTION_FIELDS}
        )
    return donor_shown(SimpleNamespace(anonymous=row["anonymous"], donor_organization=institution))


def people_shown(count: int | None) -> int | None:
    """A count of people, or None below the public summary's minimum."""
    return count_shown(count, settings.PUBLIC_MIN_BENEFICIARIES)
