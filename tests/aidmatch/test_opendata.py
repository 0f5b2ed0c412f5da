"""Who open data names: organizations by opt-in (pseudonym when sensitive), donors only when
an institution opted in, small counts never."""

from aidmatch.opendata import (
    ANONYMOUS_DONOR,
    PRIVATE_DONOR,
    Party,
    count_shown,
    donor_party,
    organization_party,
)


def test_a_sensitive_organization_is_its_pseudonym_without_org_id_or_details():
    party = organization_party(
        name="Kabul Girls School", pseudonym="Partner 1A2B", sensitive=True, iati_org_id="AF-X-1"
    )
    assert party == Party(name="Partner 1A2B", ref="", details=False)


def test_an_ordinary_organization_is_named_with_its_org_id():
    party = organization_party(
        name="Herat Food", pseudonym="Partner 9", sensitive=False, iati_org_id=" AF-X-2 "
    )
    assert party == Party(name="Herat Food", ref="AF-X-2", details=True)


def test_donors_are_named_only_when_an_institution_opted_in_and_the_pledge_is_not_anonymous():
    fund = Party(name="Fund", ref="XM-DAC-1", details=True)
    assert donor_party(anonymous=False, institution=fund, institution_publishes=True) == fund
    assert donor_party(anonymous=True, institution=fund, institution_publishes=True).name == (
        ANONYMOUS_DONOR
    )
    assert donor_party(anonymous=False, institution=fund).name == PRIVATE_DONOR
    assert donor_party(anonymous=False).name == PRIVATE_DONOR


def test_small_counts_are_not_published():
    assert count_shown(9, 10) is None
    assert count_shown(None, 10) is None
    assert count_shown(10, 10) == 10
