"""FTS-style flows, read from the ledger: one row per leg that moves a donor's money towards a
destination, in pages of constant cost.

A flow is one ledger leg (so its id, the leg's id, never changes and totals are the ledger's):

- ``pledge``: the leg on a pledge's account of a 13 incoming pledge (made, or reduced /
  withdrawn / expired: a reversal, negative). Destination: the need or organization it is
  earmarked to when that organization publishes, else AidMatch's pool (no organization).
- ``commitment``: the leg on a need's account of a 2 outgoing commitment (or its reversal),
  in the need's currency; only for needs of publishing organizations.
- ``paid``: the leg on a need's account of a 3 disbursement that sends a tranche (or gives it
  back), in the need's currency; only for needs of publishing organizations. The receipt
  (transit → organization) is the same money and is not a second flow.

Reversals are rows of their own (negative amounts) pointing at what they reverse through
``parent_flow_ids``: a published row never changes, and every total is a plain sum of legs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BooleanField,
    Case,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, TruncDate

from aidmatch import fx
from aidmatch.ledger import AccountKind, IatiTransactionType
from aidmatch.money import convert as convert_amount
from aidmatch.opendata import Party, donor_party, organization_party
from apps.disbursements.models import DisbursementLine, Refund
from apps.fx.models import ExchangeRate
from apps.ledger.models import Leg
from apps.opendata.selectors import DONOR_VALUES, donor_shown_from_values, publishing_q
from apps.pledges.models import Pledge

PLEDGE, COMMITMENT, PAID = "pledge", "commitment", "paid"
STATUSES = (PLEDGE, COMMITMENT, PAID)
STATUS_TYPES = {
    PLEDGE: IatiTransactionType.INCOMING_PLEDGE,
    COMMITMENT: IatiTransactionType.OUTGOING_COMMITMENT,
    PAID: IatiTransactionType.DISBURSEMENT,
}
STATUS_OF_TYPE = {int(t): s for s, t in STATUS_TYPES.items()}
# Where the flow crosses AidMatch, the channel (FTS's boundary, seen from AidMatch).
BOUNDARIES = {PLEDGE: "incoming", COMMITMENT: "internal", PAID: "outgoing"}
POOL_NAME = "AidMatch pool"
SENT_PREFIX = "disbursement-sent:"
SENT_REVERSED_PREFIX = "disbursement-sent-reversed:"
REFUND_PREFIX = "disbursement-refund:"
NO_RATE = "no_rate"
STALE_RATE = "stale_rate"

_NEED_ORG = "account__need__organization__"
_ACCOUNT_ORG = "account__organization__"
_EARMARK_NEED = "transaction__pledge__earmark_need__"
_EARMARK_ORG = "transaction__pledge__earmark_organization__"

_ORG_FIELDS = ("id", "name", "pseudonym", "sensitive", "iati_org_id")


def _status_q(status: str) -> Q:
    kind = AccountKind.DONOR_PLEDGE if status == PLEDGE else AccountKind.NEED
    q = Q(transaction__iati_type=int(STATUS_TYPES[status]), account__kind=kind.value)
    if status != PLEDGE:
        q &= publishing_q(_NEED_ORG)
    if status == PAID:
        q |= Q(
            transaction__iati_type=int(STATUS_TYPES[PAID]),
            transaction__key__startswith=REFUND_PREFIX,
            account__kind=AccountKind.ORGANIZATION.value,
        ) & publishing_q(_ACCOUNT_ORG)
    return q


def flows() -> QuerySet:
    """Every published flow as a values() row (one query, joins on primary keys only)."""
    earmark_need_shown = Q(transaction__pledge__earmark_need__isnull=False) & publishing_q(
        _EARMARK_NEED + "organization__"
    )
    earmark_org_shown = Q(transaction__pledge__earmark_organization__isnull=False) & publishing_q(
        _EARMARK_ORG
    )
    to_need = Q(account__kind=AccountKind.NEED.value)
    to_org = Q(account__kind=AccountKind.ORGANIZATION.value)

    def destination(need_field: str, earmark_need_field: str, name: str | None = None):
        whens = [
            When(to_need, then=F(need_field)),
            When(earmark_need_shown, then=F(earmark_need_field)),
        ]
        if name:  # an organization's field: a refund's, or a pledge's earmark's
            whens.append(When(to_org, then=F(_ACCOUNT_ORG + name)))
            whens.append(When(earmark_org_shown, then=F(_EARMARK_ORG + name)))
        return Case(*whens, default=None)

    # Ids as text: no UUID object per row and column (the page is shown as text anyway).
    annotations = {
        "need_id": Cast(
            destination("account__need_id", "transaction__pledge__earmark_need_id"), TextField()
        ),
        "province": destination("account__need__province_id", _EARMARK_NEED + "province_id"),
        "sector": destination("account__need__sector_id", _EARMARK_NEED + "sector_id"),
        "need_title": destination("account__need__title", _EARMARK_NEED + "title"),
    }
    for name in _ORG_FIELDS:
        annotations[f"org_{name}"] = destination(
            _NEED_ORG + name, _EARMARK_NEED + "organization__" + name, name
        )
    annotations["org_id"] = Cast(annotations["org_id"], TextField())
    return (
        Leg.objects.filter(_status_q(PLEDGE) | _status_q(COMMITMENT) | _status_q(PAID))
        .annotate(
            **annotations,
            iati_type=F("transaction__iati_type"),
            reverses_id=F("transaction__reverses_id"),
            transaction_key=F("transaction__key"),
            pledge_id=Cast("transaction__pledge_id", TextField()),
            value_date=TruncDate("transaction__created_at"),
            reversal=Case(
                When(transaction__reverses__isnull=False, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values(
            "id",
            "amount",
            "currency_id",
            "account_id",
            "transaction_id",
            "iati_type",
            "reverses_id",
            "transaction_key",
            "pledge_id",
            "value_date",
            "reversal",
            *annotations,
        )
    )


def filter_status(queryset: QuerySet, status: str) -> QuerySet:
    return queryset.filter(_status_q(status))


# --- A page of rows → what the API shows ----------------------------------------------------------


class UsdRates:
    """Every snapshot that can convert to USD, read once (one query), then quotes by
    (currency, day) from memory by the rules of ``aidmatch.fx``."""

    def __init__(self) -> None:
        self._snapshots: list[fx.Snapshot] | None = None
        self._quotes: dict[tuple[str, date], fx.Quote | str] = {}

    def _all(self) -> list[fx.Snapshot]:
        if self._snapshots is None:
            self._snapshots = [
                fx.Snapshot(b, q, rate, day, source, seq)
                for b, q, rate, day, source, seq in ExchangeRate.objects.filter(
                    Q(base_id=fx.PIVOT) | Q(quote_id=fx.PIVOT)
                ).values_list("base_id", "quote_id", "rate", "date", "source", "id")
            ]
        return self._snapshots

    def quote(self, currency: str, on: date) -> fx.Quote | str:
        """The quote, or why there is none (``no_rate``, ``stale_rate``)."""
        key = (currency, on)
        if key not in self._quotes:
            if currency == fx.PIVOT:
                self._quotes[key] = fx.identity()
            else:
                try:
                    self._quotes[key] = fx.resolve(
                        currency,
                        fx.PIVOT,
                        on,
                        self._all(),
                        max_age_days=settings.FX_MAX_RATE_AGE_DAYS,
                    )
                except fx.StaleExchangeRate:
                    self._quotes[key] = STALE_RATE
                except fx.NoExchangeRate:
                    self._quotes[key] = NO_RATE
        return self._quotes[key]


def _sent_disbursement_id(key: str) -> str | None:
    """The tranche a sending (or its reversal) posted: ``disbursement-sent[-reversed]:<id>``."""
    for prefix in (SENT_PREFIX, SENT_REVERSED_PREFIX):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def _commitment_leg(allocation: str) -> Subquery:
    """The need's leg of an allocation's commitment (not a reversal): a paid flow's parent."""
    return Subquery(
        Leg.objects.filter(
            transaction__allocation_id=OuterRef(allocation),
            transaction__iati_type=int(IatiTransactionType.OUTGOING_COMMITMENT),
            transaction__reverses__isnull=True,
            account__kind=AccountKind.NEED.value,
        )
        .order_by("-id")
        .values("id")[:1]
    )


def _pledge_made_leg() -> Subquery:
    """The pledge account's leg of a pledge's ``pledge-made`` transaction: a commitment's
    parent (one lookup on the unique key per pledge)."""
    return Subquery(
        Leg.objects.filter(
            transaction__key=Concat(Value("pledge-made:"), Cast(OuterRef("pk"), TextField())),
            account__kind=AccountKind.DONOR_PLEDGE.value,
        )
        .order_by("-id")
        .values("id")[:1]
    )


def _any_of(column: str, ids) -> Func:
    """``column = ANY('{...}'::uuid[])`` for a set of ids as text: one parameter, not one per id
    (Django would build a UUID object for each of thousands), still on the column's index."""
    array = Cast(Value(sorted(ids), output_field=ArrayField(TextField())), ArrayField(UUIDField()))
    return Func(
        F(column),
        array,
        arg_joiner=" = ANY(",
        template="%(expressions)s)",
        output_field=BooleanField(),
    )


class Pledges:
    """The pledges a request's pages have named: each one's donor as shown and its
    ``pledge-made`` leg, read once per request (a CSV export's pages share most pledges)."""

    def __init__(self) -> None:
        self.donors: dict[str, Party] = {}
        self.made: dict[str, int] = {}


def shown_rows(rows: list[dict], rates: UsdRates, pledges: Pledges | None = None) -> list[dict]:
    """The page's rows as the API shows them, in a constant number of queries (refunds, the
    tranches' lines with their commitments, pledges with their donors and ``pledge-made``
    legs, and the reversed and refunded legs)."""
    # Tranches: which pledges and commitments a paid flow's money came from.
    refund_ids = [
        r["transaction_key"][len(REFUND_PREFIX) :]
        for r in rows
        if r["transaction_key"].startswith(REFUND_PREFIX)
    ]
    refunded = {}
    if refund_ids:
        refunded = dict(
            Refund.objects.filter(pk__in=refund_ids).values_list(
                Cast("pk", TextField()), Cast("disbursement_id", TextField())
            )
        )

    tranches: dict[int, str | None] = {}  # the row's id → its tranche (paid flows only)
    for r in rows:
        if r["iati_type"] == 3:
            key = r["transaction_key"]
            if key.startswith(REFUND_PREFIX):
                tranches[r["id"]] = refunded.get(key[len(REFUND_PREFIX) :])
            else:
                tranches[r["id"]] = _sent_disbursement_id(key)

    def tranche_of(row) -> str | None:
        return tranches.get(row["id"])

    sent = set(tranches.values())
    sent.discard(None)
    lines: dict[tuple[str, object], list[dict]] = defaultdict(list)
    if sent:
        for line in (
            DisbursementLine.objects.filter(_any_of("disbursement_id", sent))
            .annotate(commitment_leg=_commitment_leg("allocation_id"))
            .values_list(
                Cast("disbursement_id", TextField()),
                Cast("allocation_id", TextField()),
                Cast("allocation__need_id", TextField()),
                Cast("allocation__pledge_id", TextField()),
                "commitment_leg",
            )
        ):
            tranche, allocation, need, pledge, leg = line
            line = {"allocation_id": allocation, "allocation__pledge_id": pledge, "leg": leg}
            lines[(tranche, need)].append(line)
            lines[(tranche, None)].append(line)

    def tranche_lines(row) -> list[dict]:
        """The tranche's lines for the row's need (every line, for a refund)."""
        return lines.get((tranches.get(row["id"]), row["need_id"]), [])

    # Donors of every pledge named by the page (and their pledge-made legs), one query.
    pledge_ids = {r["pledge_id"] for r in rows if r["pledge_id"]}
    for row in rows:
        if row["iati_type"] == 3:
            pledge_ids |= {line["allocation__pledge_id"] for line in tranche_lines(row)}
    pledges = pledges if pledges is not None else Pledges()
    missing = pledge_ids - pledges.donors.keys()  # read by an earlier page of the request: kept
    if missing:
        for row in (
            Pledge.objects.filter(_any_of("id", missing))
            .annotate(text_pk=Cast("pk", TextField()), made_leg=_pledge_made_leg())
            .values("text_pk", "made_leg", *DONOR_VALUES)
        ):
            pledges.donors[row["text_pk"]] = donor_shown_from_values(row)
            if row["made_leg"] is not None:
                pledges.made[row["text_pk"]] = row["made_leg"]
    donors, pledge_made = pledges.donors, pledges.made

    # Parents: the reversed flow (same account, reversed transaction); a commitment's pledge
    # (read with the donors); a tranche's commitments (read with its lines); a refund's tranche.
    reversed_legs = {(r["reverses_id"], r["account_id"]) for r in rows if r["reverses_id"]}
    refunded_tranches = {
        f"{SENT_PREFIX}{tranche_of(r)}"
        for r in rows
        if r["transaction_key"].startswith(REFUND_PREFIX)
    }
    # One query per kind of parent left (each on an index: transaction id, key), at most two
    # a page whatever its length.
    queries = []
    if refunded_tranches:
        queries.append(
            Q(transaction__key__in=refunded_tranches, account__kind=AccountKind.NEED.value)
        )
    if reversed_legs:
        queries.append(
            Q(
                transaction_id__in={t for t, _ in reversed_legs},
                account_id__in={a for _, a in reversed_legs},
            )
        )
    found: dict = {}
    for query in queries:
        for leg_id, txn, account, key in Leg.objects.filter(query).values_list(
            "id", "transaction_id", "account_id", "transaction__key"
        ):
            found[("leg", txn, account)] = leg_id
            found.setdefault(("tranche", key), []).append(leg_id)

    out = []
    destinations: dict[tuple, Party] = {}
    for row in rows:
        status = STATUS_OF_TYPE[row["iati_type"]]
        if row["transaction_key"].startswith(REFUND_PREFIX):
            parents = sorted(found.get(("tranche", f"{SENT_PREFIX}{tranche_of(row)}"), []))
        elif row["reversal"]:
            parent = found.get(("leg", row["reverses_id"], row["account_id"]))
            parents = [parent] if parent else []
        elif status == COMMITMENT:
            parent = pledge_made.get(row["pledge_id"])
            parents = [parent] if parent else []
        elif status == PAID:
            parents = sorted(
                {line["leg"] for line in tranche_lines(row) if line["leg"] is not None}
            )
        else:
            parents = []
        out.append(_shown(row, status, parents, donors, tranche_lines, rates, destinations))
    return out


_POOL = Party(name=POOL_NAME)


def _paid_donor(row, tranche_lines, donors) -> Party:
    """A tranche is one donor's; it is named only if every pledge it draws on may name it."""
    shown = {donors[line["allocation__pledge_id"]] for line in tranche_lines(row)}
    if len(shown) == 1:
        return shown.pop()
    return donor_party(anonymous=True) if shown else donor_party(anonymous=False)


def _shown(row, status, parents, donors, tranche_lines, rates, destinations) -> dict:
    if row["pledge_id"]:
        source = donors[row["pledge_id"]]
    elif status == PAID:
        source = _paid_donor(row, tranche_lines, donors)
    else:
        source = None
    if row["org_id"] is not None:
        key = (row["org_name"], row["org_pseudonym"], row["org_sensitive"], row["org_iati_org_id"])
        destination = destinations.get(key)
        if destination is None:  # one Party per organization and page, not one per row
            destination = destinations[key] = organization_party(
                name=key[0], pseudonym=key[1], sensitive=key[2], iati_org_id=key[3]
            )
    else:
        destination = _POOL
    # A tranche's money leaves the need's account: its leg is negative, the flow positive. A
    # refund leaves the organization's account: a negative paid flow, as its leg.
    refund = row["transaction_key"].startswith(REFUND_PREFIX)
    amount: Decimal = -row["amount"] if status == PAID and not refund else row["amount"]
    currency = row["currency_id"]
    quote = rates.quote(currency, row["value_date"])
    if isinstance(quote, str):
        amount_usd, usd_missing = None, quote
    else:
        amount_usd, usd_missing = convert_amount(amount, quote.rate, 2), None
    return {
        "id": row["id"],
        "status": status,
        "boundary": BOUNDARIES[status],
        "reversal": row["reversal"] or refund,
        "source_name": source.name if source else None,
        "source_ref": (source.ref or None) if source else None,
        "destination_name": destination.name,
        "destination_ref": destination.ref or None,
        "organization_id": row["org_id"],
        "need_id": row["need_id"],
        "need_title": row["need_title"] if destination.details and row["need_id"] else None,
        "province": row["province"],
        "sector": row["sector"],
        "amount": amount,
        "currency": currency,
        "amount_usd": amount_usd,
        "usd_missing_reason": usd_missing,
        "date": row["value_date"],
        "parent_flow_ids": parents,
    }
