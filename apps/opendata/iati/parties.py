"""Who an IATI file names: the reporting organization, the implementing one, the donors.

Every name comes from ``apps.opendata.selectors`` (the publication policy); this module only
decides which organization reports and reads donors in bulk, a batch at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from aidmatch.opendata import Party
from apps.opendata.iati import codes
from apps.opendata.selectors import DONOR_VALUES, donor_shown_from_values, organization_shown
from apps.pledges.models import Pledge


@dataclass(frozen=True)
class Reporter:
    """The reporting organization of a file, and how the organization itself appears."""

    ref: str
    name: str
    type: str
    organization: Party  # the organization as published (implementing participating-org)

    @property
    def self_reporting(self) -> bool:
        return self.ref == self.organization.ref


def reporter_for(organization) -> Reporter:
    """The organization reports itself under its org-id when it may publish one (not sensitive,
    ``iati_org_id`` set); otherwise AidMatch reports, and the organization appears only by its
    published name, without a ref (a sensitive organization's org-id would name it)."""
    shown = organization_shown(organization)
    if shown.ref:
        kind_type = codes.ORGANISATION_TYPE.get(organization.kind, codes.DEFAULT_ORGANISATION_TYPE)
        return Reporter(ref=shown.ref, name=shown.name, type=kind_type, organization=shown)
    return Reporter(
        ref=settings.IATI_PUBLISHER_REF,
        name=settings.IATI_PUBLISHER_NAME,
        type=settings.IATI_PUBLISHER_TYPE,
        organization=shown,
    )


def organisation_identifier(organization, reporter: Reporter) -> str:
    if reporter.self_reporting:
        return reporter.ref
    return f"{reporter.ref}-{organization.pk}"


@dataclass(frozen=True)
class Donor:
    party: Party
    activity_id: str  # the donor's own IATI activity identifier, where it publishes one


def donors_by_pledge(pledge_ids) -> dict:
    """Each pledge's donor as published, in one query (never the donor person's name)."""
    if not pledge_ids:
        return {}
    found = {}
    for row in Pledge.objects.filter(pk__in=pledge_ids).values(
        "pk", "external_reference", *DONOR_VALUES
    ):
        party = donor_shown_from_values(row)
        # provider-activity-id: only a donor that publishes (a ref), and only the donor's own
        # activity identifier (its pledge reference when it is one of its IATI identifiers).
        reference = (row["external_reference"] or "").strip()
        activity_id = reference if party.ref and reference.startswith(f"{party.ref}-") else ""
        found[row["pk"]] = Donor(party=party, activity_id=activity_id)
    return found
