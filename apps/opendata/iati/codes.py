"""The IATI 2.03 codes AidMatch writes, each from its codelist (tests check every one against
the codelists in tests/data/iati-codelists/)."""

from aidmatch.ledger import IatiTransactionType, counterpart_type
from aidmatch.lifecycle import NeedStatus

VERSION = "2.03"
COUNTRY = "AF"  # Country: Afghanistan

# ActivityStatus, from the need's status. An open need is still being identified and funded
# (1 pipeline); money committed means work under way (2 implementation); a completed need has
# its final report (4 closed); a cancelled or expired one will not happen (5 cancelled).
ACTIVITY_STATUS = {
    NeedStatus.OPEN: "1",
    NeedStatus.PARTIALLY_FUNDED: "2",
    NeedStatus.FUNDED: "2",
    NeedStatus.COMPLETED: "4",
    NeedStatus.CANCELLED: "5",
    NeedStatus.EXPIRED: "5",
}
# Needs published: every need once approved (draft and submitted ones never were public).
PUBLISHED_STATUSES = frozenset(
    {NeedStatus.OPEN, NeedStatus.PARTIALLY_FUNDED, NeedStatus.FUNDED, NeedStatus.COMPLETED}
)
# Cancelled or expired needs are published only if they were approved (they may hold ledger
# transactions: a commitment and its reversal).
ENDED_STATUSES = frozenset({NeedStatus.CANCELLED, NeedStatus.EXPIRED})

# ActivityDateType
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"

# OrganisationRole
ROLE_FUNDING, ROLE_IMPLEMENTING = "1", "4"

# OrganisationType, from the organization's kind: Afghan organizations are partner-country NGOs
# (24); a food distributor is a business (70 private sector).
ORGANISATION_TYPE = {"food_distributor": "70"}
DEFAULT_ORGANISATION_TYPE = "24"

# GeographicVocabulary for admin-1/admin-2 P-codes (OCHA COD-AB): A2, the UN's administrative
# boundaries (Second Administrative Level Boundaries) whose codes the COD P-codes are; A4 is
# ISO 3166 countries, A1 (GAUL) and A3 (GADM) have codes of their own that AidMatch does not hold.
GEOGRAPHIC_VOCABULARY = "A2"
GEOGRAPHIC_EXACTNESS_APPROXIMATE = "2"  # GeographicExactness
LOCATION_CLASS_ADMINISTRATIVE = "1"  # GeographicLocationClass: administrative region
FEATURE_ADM1, FEATURE_ADM2 = "ADM1", "ADM2"  # LocationType (feature designation)

# SectorVocabulary
SECTOR_DAC5 = "1"
SECTOR_CLUSTER = "10"  # Humanitarian Global Clusters (IASC), codes as HDX's coordination groups
# AidMatch's sectors to the IASC global clusters (areas of responsibility under Protection).
# Multi-sector has no global cluster: only its DAC codes (none) are written.
CLUSTERS = {
    "camp_coordination": "CCM",
    "child_protection": "PRO-CPN",
    "early_recovery": "ERY",
    "education": "EDU",
    "emergency_telecoms": "TEL",
    "food_security": "FSC",
    "gbv": "PRO-GBV",
    "health": "HEA",
    "logistics": "LOG",
    "nutrition": "NUT",
    "protection": "PRO",
    "shelter_nfi": "SHL",
    "wash": "WSH",
}

# BudgetType / BudgetStatus: a need's amount is what it asks, as first approved.
BUDGET_ORIGINAL, BUDGET_INDICATIVE = "1", "1"

# ResultType / IndicatorMeasure: people reached is an output, counted in units.
RESULT_OUTPUT, MEASURE_UNIT = "1", "1"

# TransactionType as the organization's activity reports it. The ledger speaks from AidMatch's
# side; the organization sees a commitment (2) as 11 incoming commitment and a disbursement (3)
# as 1 incoming funds (aidmatch.ledger.counterpart_type); a pledge earmarked to the need stays
# 13 incoming pledge (the organization is its intended recipient) and its expenditure 4 is its own.
T = IatiTransactionType


def activity_transaction_type(ledger_type: int) -> int:
    ledger_type = T(ledger_type)
    if ledger_type in (T.OUTGOING_COMMITMENT, T.DISBURSEMENT):
        return int(counterpart_type(ledger_type))
    return int(ledger_type)


# Results: people reached, by sex and age (dimension name, value) for each report field.
PEOPLE_CELLS = (
    ("reached_women", "female", "adult"),
    ("reached_girls", "female", "child"),
    ("reached_men", "male", "adult"),
    ("reached_boys", "male", "child"),
)
