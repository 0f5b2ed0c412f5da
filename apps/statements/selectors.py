"""A donor's giving statement for a calendar year (UTC), read in a fixed number of queries.

Whose: a signed-in person's own pledges (``Pledge.donor``), or a donor institution's
(``Pledge.donor_organization``, when it calls with its API key). What, and dated how:

- pledges made, and their reductions, withdrawals and expiries: the legs of 13 incoming pledge
  on the donor's pledge accounts, dated the day the ledger booked them;
- commitments, and their releases: the legs of 2 outgoing commitment on those accounts (in the
  pledge's currency; the need's amount beside it), dated the day the ledger booked them;
- tranches sent or received: each tranche line (pledge currency, and the need's currency, AFN
  for most needs), dated by the tranche's value date (else the day it was sent). A tranche
  that failed or was returned is not on it: its money went back to the pledge;
- refunds the organization gave back after receipt (negative), dated by their refund date;
- the delivery reports (period ending in the year) of needs the donor's money is committed to.

Pledges and commitments are the ledger's own legs, so their totals are the ledger's; tranche
lines add up to the ledger's disbursement legs (tests/apps/statements). Organizations are named
as donors see them everywhere else (``Organization.public_name``: the pseudonym of a sensitive
one); no district, location, contact or staff name is read. People reached are shown only at or
above the public minimum (``apps.opendata.selectors.people_shown``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import F, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from aidmatch.ledger import AccountKind, IatiTransactionType
from aidmatch.lifecycle import ALLOCATION_COMMITTED
from aidmatch.money import convert
from aidmatch.statements import Line, LineKind, in_order, totals
from apps.core.money import money_str
from apps.disbursements.models import DisbursementLine, Refund
from apps.ledger.models import Leg
from apps.matching.models import Allocation
from apps.needs.models import Need
from apps.opendata.flows import UsdRates
from apps.opendata.selectors import people_shown
from apps.organizations.models import Organization
from apps.pledges.models import Pledge
from apps.reports.models import DeliveryReport

SHOWN_TRANCHES = ("sent", "received")
_NEED_FIELDS = (
    "id",
    "title",
    "sector_id",
    "province_id",
    "currency_id",
    "organization__name",
    "organization__pseudonym",
    "organization__sensitive",
)


class Donor:
    """Whose statement: a person (a user) or an institution (an organization)."""

    def __init__(self, *, user=None, organization=None) -> None:
        self.user, self.organization = user, organization

    @property
    def kind(self) -> str:
        return "institution" if self.organization is not None else "person"

    @property
    def name(self) -> str:
        if self.organization is not None:
            return self.organization.name  # the institution's own statement: its own name
        return self.user.full_name or self.user.email

    def pledges_q(self, prefix: str = "") -> Q:
        if self.organization is not None:
            return Q(**{f"{prefix}donor_organization_id": self.organization.pk})
        return Q(**{f"{prefix}donor_id": self.user.pk})

    def tranches_q(self, prefix: str = "") -> Q:
        return self.pledges_q(prefix)  # a tranche names the same donor as its pledges


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _usd(amount: Decimal, currency: str, on: date, rates: UsdRates):
    quote = rates.quote(currency, on)
    if isinstance(quote, str):
        return None, quote
    return convert(amount, quote.rate, 2), None


def statement(donor: Donor, year: int) -> dict:
    start, end = _year_bounds(year)
    rates = UsdRates()
    raw: list[tuple[Line, dict]] = []

    def add(on, kind, amount, currency, sort_key, **details) -> None:
        amount_usd, missing = _usd(amount, currency, on, rates)
        line = Line(on, kind, amount, currency, amount_usd, sort_key)
        raw.append((line, {**details, "usd_missing_reason": missing}))

    # Pledges and commitments: the ledger's legs on the donor's pledge accounts.
    legs = (
        Leg.objects.filter(
            donor_legs_q(donor),
            transaction__created_at__gte=start,
            transaction__created_at__lt=end,
        )
        .values(
            "id",
            "amount",
            "currency_id",
            pledge_id=F("account__pledge_id"),
            iati_type=F("transaction__iati_type"),
            reversal=F("transaction__reverses_id"),
            allocation_id=F("transaction__allocation_id"),
            need_id=F("transaction__allocation__need_id"),
            need_amount=F("transaction__allocation__need_amount"),
            on=TruncDate("transaction__created_at", tzinfo=UTC),
        )
        .order_by()
    )
    for leg in legs:
        if leg["iati_type"] == IatiTransactionType.INCOMING_PLEDGE:
            add(
                leg["on"],
                LineKind.PLEDGE,
                leg["amount"],
                leg["currency_id"],
                f"{leg['id']:012d}",
                pledge=leg["pledge_id"],
                reversal=leg["reversal"] is not None,
            )
        else:  # the money leaves the pledge (negative leg) for a need: a positive commitment
            reversal = leg["reversal"] is not None
            need_amount = leg["need_amount"]
            add(
                leg["on"],
                LineKind.COMMITMENT,
                -leg["amount"],
                leg["currency_id"],
                f"{leg['id']:012d}",
                pledge=leg["pledge_id"],
                reversal=reversal,
                allocation=leg["allocation_id"],
                need=leg["need_id"],
                need_amount=-need_amount if reversal else need_amount,
            )

    # Tranches sent or received, line by line, by value date.
    tranche_lines = (
        DisbursementLine.objects.filter(
            donor.tranches_q("disbursement__"),
            disbursement__status__in=SHOWN_TRANCHES,
        )
        .annotate(
            on=Coalesce("disbursement__value_date", TruncDate("disbursement__sent_at", tzinfo=UTC))
        )
        .filter(on__gte=start.date(), on__lt=end.date())
        .values(
            "id",
            "amount",
            "need_amount",
            "on",
            "disbursement_id",
            "allocation_id",
            pledge_id=F("allocation__pledge_id"),
            need_id=F("allocation__need_id"),
            currency_id=F("disbursement__currency_id"),
            status=F("disbursement__status"),
            received_date=F("disbursement__received_date"),
            channel=F("disbursement__channel"),
        )
        .order_by()
    )
    for row in tranche_lines:
        add(
            row["on"],
            LineKind.DISBURSEMENT,
            row["amount"],
            row["currency_id"],
            f"{row['id']:012d}",
            pledge=row["pledge_id"],
            reversal=False,
            allocation=row["allocation_id"],
            need=row["need_id"],
            need_amount=row["need_amount"],
            tranche=row["disbursement_id"],
            tranche_status=row["status"],
            channel=row["channel"],
            received_date=row["received_date"],
        )

    # Refunds given back to the donor after receipt (in the currency the tranche was received in).
    refunds = (
        Refund.objects.filter(
            donor.tranches_q("disbursement__"),
            refund_date__gte=start.date(),
            refund_date__lt=end.date(),
        )
        .values("id", "amount", "currency_id", "refund_date", "disbursement_id")
        .annotate(organization_id=F("disbursement__organization_id"))
        .order_by()
    )
    refund_rows = list(refunds)
    for row in refund_rows:
        add(
            row["refund_date"],
            LineKind.REFUND,
            -row["amount"],
            row["currency_id"],
            str(row["id"]),
            pledge=None,
            reversal=True,
            tranche=row["disbursement_id"],
            tranche_organization=row["organization_id"],
        )

    needs = _needs({d["need"] for _, d in raw if d.get("need")})
    organizations = _organizations(
        {d["tranche_organization"] for _, d in raw if d.get("tranche_organization")}
    )
    ordered = in_order(line for line, _ in raw)
    details = {id(line): d for line, d in raw}
    lines = [_line_out(line, details[id(line)], needs, organizations) for line in ordered]
    pledge_ids = {d["pledge"] for _, d in raw if d.get("pledge")}
    summed = totals(ordered)
    return {
        "year": year,
        "generated_at": timezone.now(),
        "donor": {"kind": donor.kind, "name": donor.name},
        "totals": [
            {"currency": cur, **{k: money_str(v, cur) for k, v in sums.items()}}
            for cur, sums in summed.by_currency.items()
        ],
        "totals_usd": {
            **{k: money_str(v, 2) for k, v in summed.usd.items()},
            "lines_without_rate": summed.lines_without_rate,
        },
        "pledges": _pledges(donor, pledge_ids),
        "lines": lines,
        "reports": _reports(donor, year),
    }


def donor_legs_q(donor: Donor) -> Q:
    """The legs of a donor's pledge accounts that a statement lists: pledges made (and reduced)
    and commitments (and released). The reconciliation test sums the same legs."""
    return (
        Q(account__kind=AccountKind.DONOR_PLEDGE.value)
        & donor.pledges_q("account__pledge__")
        & Q(
            transaction__iati_type__in=[
                int(IatiTransactionType.INCOMING_PLEDGE),
                int(IatiTransactionType.OUTGOING_COMMITMENT),
            ]
        )
    )


def _needs(ids: set) -> dict:
    """Needs by id, with what is shown of their organization (its name or pseudonym)."""
    if not ids:
        return {}
    return {
        n.pk: n
        for n in Need.objects.filter(pk__in=ids).select_related("organization").only(*_NEED_FIELDS)
    }


def _organizations(ids: set) -> dict:
    if not ids:
        return {}
    return {
        o.pk: o
        for o in Organization.objects.filter(pk__in=ids).only(
            "id", "name", "pseudonym", "sensitive"
        )
    }


def _line_out(line: Line, d: dict, needs: dict, organizations: dict) -> dict:
    need = needs.get(d.get("need"))
    if need is not None:
        organization = need.organization
    else:
        organization = organizations.get(d.get("tranche_organization"))
    need_amount = d.get("need_amount")
    return {
        "date": line.on,
        "kind": line.kind.value,
        "reversal": d["reversal"],
        "pledge": d.get("pledge"),
        "amount": money_str(line.amount, line.currency),
        "currency": line.currency,
        "amount_usd": None if line.amount_usd is None else money_str(line.amount_usd, 2),
        "usd_missing_reason": d["usd_missing_reason"],
        "need_amount": None
        if need is None or need_amount is None
        else money_str(need_amount, need.currency_id),
        "need_currency": None if need is None else need.currency_id,
        "need": None if need is None else need.pk,
        "need_title": None if need is None else need.title,
        "sector": None if need is None else need.sector_id,
        "province": None if need is None else need.province_id,
        "organization": None if organization is None else organization.public_name(),
        "allocation": d.get("allocation"),
        "tranche": d.get("tranche"),
        "tranche_status": d.get("tranche_status"),
        "channel": d.get("channel"),
        "received_date": d.get("received_date"),
    }


def _pledges(donor: Donor, ids: set) -> list[dict]:
    """The pledges named by the lines, read as rows (model objects and a prefetch per earmark
    cost ~6 s for 5,000 pledges: bench/statements.py), earmarks by their through tables."""
    if not ids:
        return []
    # By donor, then kept if named (5,000 ids as query parameters cost more than the rows).
    rows = [
        row
        for row in Pledge.objects.filter(donor.pledges_q())
        .values(
            "id",
            "amount",
            "original_amount",
            "currency_id",
            "status",
            "anonymous",
            "created_at",
            "withdrawn_at",
            "earmark_organization_id",
            "earmark_need_id",
            "schedule_id",
            "schedule_period",
        )
        .order_by("created_at", "pk")
        if row["id"] in ids
    ]
    sectors: dict = defaultdict(list)
    for pledge, code in Pledge.earmark_sectors.through.objects.filter(
        pledge_id__in=ids
    ).values_list("pledge_id", "sector_id"):
        sectors[pledge].append(code)
    provinces: dict = defaultdict(list)
    for pledge, code in Pledge.earmark_provinces.through.objects.filter(
        donor.pledges_q("pledge__")
    ).values_list("pledge_id", "province_id"):
        provinces[pledge].append(code)
    organizations = _organizations({r["earmark_organization_id"] for r in rows} - {None})
    need_ids = {r["earmark_need_id"] for r in rows} - {None}
    titles = (
        dict(Need.objects.filter(pk__in=need_ids).values_list("id", "title")) if need_ids else {}
    )
    out = []
    for p in rows:
        cur = p["currency_id"]
        organization = organizations.get(p["earmark_organization_id"])
        out.append(
            {
                "id": p["id"],
                "created_at": p["created_at"],
                "amount": money_str(p["amount"], cur),
                "original_amount": money_str(p["original_amount"], cur),
                "currency": cur,
                "status": p["status"],
                "anonymous": p["anonymous"],
                "withdrawn_at": p["withdrawn_at"],
                "schedule": p["schedule_id"],
                "schedule_period": p["schedule_period"],
                "earmarks": {
                    "sectors": sorted(sectors[p["id"]]),
                    "provinces": sorted(provinces[p["id"]]),
                    "organization": None if organization is None else organization.public_name(),
                    "need": p["earmark_need_id"],
                    "need_title": titles.get(p["earmark_need_id"]),
                },
            }
        )
    return out


def _reports(donor: Donor, year: int) -> list[dict]:
    """Reports whose period ends in the year, of needs the donor's money is committed to."""
    funded = Allocation.objects.filter(
        donor.pledges_q("pledge__"), status__in=[s.value for s in ALLOCATION_COMMITTED]
    ).values("need_id")
    rows = (
        DeliveryReport.objects.filter(
            need_id__in=funded,
            period_end__gte=date(year, 1, 1),
            period_end__lt=date(year + 1, 1, 1),
        )
        .select_related("need__organization")
        .only(
            "id",
            "period_start",
            "period_end",
            "final",
            "narrative",
            "reached_women",
            "reached_girls",
            "reached_men",
            "reached_boys",
            *(f"need__{f}" for f in _NEED_FIELDS),
        )
        .order_by("period_end", "pk")
    )
    out = []
    for r in rows:
        need = r.need
        organization = need.organization
        reached = r.reached_women + r.reached_girls + r.reached_men + r.reached_boys
        out.append(
            {
                "id": r.pk,
                "need": need.pk,
                "need_title": need.title,
                "sector": need.sector_id,
                "province": need.province_id,
                "organization": organization.public_name(),
                "period_start": r.period_start,
                "period_end": r.period_end,
                "final": r.final,
                "people_reached": people_shown(reached),
                # A sensitive organization's narrative stays with it (as in a pledge's trace).
                "narrative": None if organization.sensitive else r.narrative,
            }
        )
    return out
