"""Who open data may show, read from the database: every export (IATI, HXL, flows, CSV of
public figures) starts here, so the rules of ``aidmatch.opendata`` hold in one place."""

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


def is_publishing(organization: Organization) -> bool:
    return (
        organization.publish_open_data
        and organization.status == OrganizationStatus.VERIFIED
        and organization.kind != OrganizationKind.DONOR_INSTITUTION
    )


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
        institution_publishes=bool(
            institution is not None
            and institution.publish_open_data
            and institution.status == OrganizationStatus.VERIFIED
        ),
    )


def people_shown(count: int | None) -> int | None:
    """A count of people, or None below the public summary's minimum."""
    return count_shown(count, settings.PUBLIC_MIN_BENEFICIARIES)
