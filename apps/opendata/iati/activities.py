"""An organization's ``iati-activities`` 2.03 file: one activity per published need, streamed.

Memory stays flat whatever the size: needs are read in keyset batches (``IATI_EXPORT_CHUNK``),
each batch's ledger legs, tranche lines, donors and reports in a fixed number of queries (as
tuples, no model instances), each activity built as a small element, written and dropped, and
the document flushed after every batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from lxml import etree

from aidmatch.ledger import AccountKind, IatiTransactionType
from aidmatch.opendata import Party
from apps.disbursements.models import DisbursementLine
from apps.ledger.models import Leg
from apps.needs.models import Need
from apps.opendata.iati import codes
from apps.opendata.iati.parties import Donor, Reporter, donors_by_pledge, reporter_for
from apps.opendata.iati.xml import (
    Buffer,
    amount,
    attributes,
    empty,
    escape,
    iati_document,
    iso,
    narrative,
    write_chunks,
)
from apps.opendata.selectors import people_shown
from apps.reference.models import District, Province, Sector
from apps.reports.models import DeliveryReport

T = IatiTransactionType


def published_needs(organization) -> QuerySet[Need]:
    """The needs an organization's file holds: every need once approved. Drafts and submitted
    needs were never public; a cancelled or expired need is kept if it had been approved (it
    may carry a commitment and its reversal, which the file must show to reconcile)."""
    return Need.objects.filter(organization=organization).filter(
        Q(status__in=codes.PUBLISHED_STATUSES)
        | Q(status__in=codes.ENDED_STATUSES, approved_at__isnull=False)
    )


_NEED_FIELDS = (
    "pk",
    "sector_id",
    "province_id",
    "district_id",
    "amount",
    "currency_id",
    "status",
    "deadline",
    "approved_at",
    "submitted_at",
    "created_at",
    "updated_at",
)
_DETAIL_FIELDS = ("title", "description")  # read only when the policy lets them be shown


@dataclass(frozen=True)
class Reference:
    sectors: dict  # code → (name, dac5 codes)
    provinces: dict  # pcode → name
    districts: dict  # pcode → name

    @classmethod
    def load(cls) -> Reference:
        return cls(
            sectors={
                c: (n, list(d or []))
                for c, n, d in Sector.objects.values_list("code", "name", "dac5_codes")
            },
            provinces=dict(Province.objects.values_list("pcode", "name")),
            districts=dict(District.objects.values_list("pcode", "name")),
        )


@dataclass(frozen=True, slots=True)
class Txn:
    order: int  # the ledger transaction's id: the ledger's order
    code: int  # TransactionType as the activity reports it
    date: object
    value_date: object
    value: Decimal
    currency: str
    donor: Donor | None
    reversal: bool


@dataclass
class Batch:
    transactions: dict = field(default_factory=lambda: defaultdict(list))
    reports: dict = field(default_factory=lambda: defaultdict(list))


def _need_batches(organization, size: int, details: bool) -> Iterator[list[dict]]:
    fields = _NEED_FIELDS + (_DETAIL_FIELDS if details else ())
    needs = published_needs(organization).order_by("pk")
    last = None
    while True:
        page = needs.filter(pk__gt=last) if last is not None else needs
        rows = list(page.values(*fields)[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]["pk"]


def _day(moment):
    return timezone.localdate(moment)


def _tranche_id(key: str) -> str:
    return key.rsplit(":", 1)[-1]  # disbursement-sent:<id>, disbursement-sent-reversed:<id>


def _common_donor(pledge_ids, donors: dict) -> Donor | None:
    """The donor of a need's share of a tranche: the one donor of its pledges, else none."""
    found = {donors[p] for p in pledge_ids if p in donors}
    return found.pop() if len(found) == 1 else None


def read_batch(need_ids: list) -> Batch:
    """A batch's transactions and reports, in six queries whatever its size."""
    batch = Batch()
    # 2 commitments (and their reversals) and 3 disbursements: the legs on the needs' accounts.
    need_legs = list(
        Leg.objects.filter(
            account__kind=AccountKind.NEED.value,
            account__need_id__in=need_ids,
            transaction__iati_type__in=[T.OUTGOING_COMMITMENT, T.DISBURSEMENT],
        ).values_list(
            "transaction_id",
            "transaction__iati_type",
            "transaction__key",
            "transaction__reverses_id",
            "transaction__created_at",
            "transaction__pledge_id",
            "amount",
            "currency_id",
            "account__need_id",
        )
    )
    # 4 expenditure: the leg leaving the organization's account, posted for the need.
    spent_legs = list(
        Leg.objects.filter(
            account__kind=AccountKind.ORGANIZATION.value,
            transaction__need_id__in=need_ids,
            transaction__iati_type=T.EXPENDITURE,
        ).values_list(
            "transaction_id",
            "transaction__reverses_id",
            "transaction__created_at",
            "amount",
            "currency_id",
            "transaction__need_id",
        )
    )
    # 13 incoming pledge: pledges earmarked to the need, as made and reduced.
    pledge_legs = list(
        Leg.objects.filter(
            account__kind=AccountKind.DONOR_PLEDGE.value,
            account__pledge__earmark_need_id__in=need_ids,
            transaction__iati_type=T.INCOMING_PLEDGE,
        ).values_list(
            "transaction_id",
            "transaction__reverses_id",
            "transaction__created_at",
            "amount",
            "currency_id",
            "account__pledge_id",
            "account__pledge__earmark_need_id",
        )
    )
    tranche_ids = {_tranche_id(row[2]) for row in need_legs if row[1] == T.DISBURSEMENT}
    tranche_pledges: dict = defaultdict(set)
    value_dates: dict = {}
    if tranche_ids:
        for tranche, need, pledge, value_date in DisbursementLine.objects.filter(
            disbursement_id__in=tranche_ids, allocation__need_id__in=need_ids
        ).values_list(
            "disbursement_id",
            "allocation__need_id",
            "allocation__pledge_id",
            "disbursement__value_date",
        ):
            tranche_pledges[(str(tranche), need)].add(pledge)
            value_dates[str(tranche)] = value_date
    pledge_ids = {row[5] for row in need_legs if row[5] is not None}
    pledge_ids |= {row[5] for row in pledge_legs}
    for pledges in tranche_pledges.values():
        pledge_ids |= pledges
    donors = donors_by_pledge(pledge_ids)

    for txn, kind, key, reverses, created, pledge, value, currency, need in need_legs:
        day = _day(created)
        if kind == T.OUTGOING_COMMITMENT:
            donor = donors.get(pledge)
            entry = Txn(txn, 11, day, day, value, currency, donor, reverses is not None)
        else:  # money leaving the need's account is the organization's incoming funds
            tranche = _tranche_id(key)
            donor = _common_donor(tranche_pledges.get((tranche, need), ()), donors)
            value_date = value_dates.get(tranche) or day
            entry = Txn(txn, 1, day, value_date, -value, currency, donor, reverses is not None)
        batch.transactions[need].append(entry)
    for txn, reverses, created, value, currency, need in spent_legs:
        day = _day(created)
        batch.transactions[need].append(
            Txn(txn, 4, day, day, -value, currency, None, reverses is not None)
        )
    for txn, reverses, created, value, currency, pledge, need in pledge_legs:
        day = _day(created)
        batch.transactions[need].append(
            Txn(txn, 13, day, day, value, currency, donors.get(pledge), reverses is not None)
        )
    for entries in batch.transactions.values():
        entries.sort(key=lambda t: t.order)

    for row in (
        DeliveryReport.objects.filter(need_id__in=need_ids)
        .order_by("period_start", "pk")
        .values_list(
            "need_id",
            "period_start",
            "period_end",
            "final",
            *(cell for cell, _, _ in codes.PEOPLE_CELLS),
        )
    ):
        batch.reports[row[0]].append(row[1:])
    return batch


def _party(tag: str, party: Party, **attrs) -> str:
    return narrative(tag, party.name, ref=party.ref, **attrs)


def _title_and_description(need: dict, reporter: Reporter, ref: Reference) -> str:
    sector = ref.sectors[need["sector_id"]][0]
    province = ref.provinces[need["province_id"]]
    if reporter.organization.details:
        title = need["title"]
        description = need["description"].strip() or title
    else:  # no title or description of a sensitive organization's needs: sector and place
        title = f"{sector} in {province}"
        description = f"{sector} need in {province} province, Afghanistan."
    return narrative("title", title) + narrative("description", description, type="1")


def _location(need: dict, details: bool, ref: Reference) -> str:
    district = need["district_id"] if details else None
    name = ref.districts[district] if district else ref.provinces[need["province_id"]]
    vocabulary = codes.GEOGRAPHIC_VOCABULARY
    parts = [
        "<location>",
        narrative("name", name),
        empty("administrative", vocabulary=vocabulary, level="1", code=need["province_id"]),
    ]
    if district:
        parts.append(empty("administrative", vocabulary=vocabulary, level="2", code=district))
    parts += [
        empty("exactness", code=codes.GEOGRAPHIC_EXACTNESS_APPROXIMATE),
        empty("location-class", code=codes.LOCATION_CLASS_ADMINISTRATIVE),
        empty("feature-designation", code=codes.FEATURE_ADM2 if district else codes.FEATURE_ADM1),
        "</location>",
    ]
    return "".join(parts)


def _sectors(sector_code: str, ref: Reference) -> str:
    parts = []
    dac5 = ref.sectors[sector_code][1]
    if dac5:
        share = (Decimal(100) / len(dac5)).quantize(Decimal("0.01"))
        shares = [share] * (len(dac5) - 1) + [Decimal(100) - share * (len(dac5) - 1)]
        for code, part in zip(dac5, shares, strict=True):
            parts.append(
                empty(
                    "sector", vocabulary=codes.SECTOR_DAC5, code=str(code), percentage=amount(part)
                )
            )
    cluster = codes.CLUSTERS.get(sector_code)
    if cluster:
        parts.append(
            empty("sector", vocabulary=codes.SECTOR_CLUSTER, code=cluster, percentage="100")
        )
    return "".join(parts)


_REVERSAL = narrative("description", "Reversal of an earlier transaction of this type.")


def _transaction(txn: Txn, providers: dict) -> str:
    """One transaction (the hot path: plain f-strings, a provider written once per donor)."""
    provider = ""
    if txn.donor is not None:
        provider = providers.get(txn.donor)
        if provider is None:
            provider = providers[txn.donor] = _party(
                "provider-org", txn.donor.party, provider_activity_id=txn.donor.activity_id
            )
    return (
        f'<transaction><transaction-type code="{txn.code}"/>'
        f'<transaction-date iso-date="{txn.date.isoformat()}"/>'
        f'<value currency="{txn.currency}" value-date="{txn.value_date.isoformat()}">'
        f"{txn.value:f}</value>{_REVERSAL if txn.reversal else ''}{provider}</transaction>"
    )


def _result(reports) -> str:
    periods = []
    for start, end, _final, *cells in reports:
        shown = [people_shown(count) for count in cells]
        if all(count is not None for count in shown):
            actuals = [
                (count, sex, age)
                for count, (_, sex, age) in zip(shown, codes.PEOPLE_CELLS, strict=True)
            ]
        else:  # a small cell: its total only, if that is large enough
            total = people_shown(sum(cells))
            actuals = [(total, None, None)] if total is not None else []
        if actuals:
            periods.append((start, end, actuals))
    if not periods:
        return ""
    parts = [
        f'<result type="{codes.RESULT_OUTPUT}" aggregation-status="1">',
        narrative("title", "People reached"),
        f'<indicator measure="{codes.MEASURE_UNIT}" ascending="1" aggregation-status="1">',
        narrative("title", "People reached, by sex and age"),
    ]
    for start, end, actuals in periods:
        parts.append(
            f'<period><period-start iso-date="{iso(start)}"/><period-end iso-date="{iso(end)}"/>'
        )
        for count, sex, age in actuals:
            if sex:
                parts.append(
                    f'<actual value="{count}"><dimension name="sex" value="{sex}"/>'
                    f'<dimension name="age" value="{age}"/></actual>'
                )
            else:
                parts.append(f'<actual value="{count}"/>')
        parts.append("</period>")
    parts.append("</indicator></result>")
    return "".join(parts)


def build_activity(need: dict, batch: Batch, reporter: Reporter, ref: Reference, providers=None):
    """One need as an ``iati-activity`` element. Written as text and parsed by lxml (in C):
    several times faster than building it node by node, and still checked well-formed.
    ``providers`` caches each donor's ``provider-org`` across a batch."""
    providers = {} if providers is None else providers
    details = reporter.organization.details
    transactions = batch.transactions.get(need["pk"], ())
    reports = batch.reports.get(need["pk"], ())
    start = iso(_day(need["approved_at"] or need["submitted_at"] or need["created_at"]))
    deadline = iso(need["deadline"])
    currency = need["currency_id"]
    parts = [
        '<iati-activity xml:lang="en"',
        attributes(
            default_currency=currency,
            humanitarian="1",
            last_updated_datetime=need["updated_at"].isoformat(timespec="seconds"),
        ),
        ">",
        f"<iati-identifier>{escape(reporter.ref)}-{need['pk']}</iati-identifier>",
        narrative("reporting-org", reporter.name, ref=reporter.ref, type=reporter.type),
        _title_and_description(need, reporter, ref),
    ]
    funders: dict = {}
    for txn in transactions:
        if txn.donor is not None:
            funders.setdefault((txn.donor.party.name, txn.donor.party.ref), txn.donor.party)
    for party in funders.values():
        parts.append(_party("participating-org", party, role=codes.ROLE_FUNDING))
    parts.append(_party("participating-org", reporter.organization, role=codes.ROLE_IMPLEMENTING))
    parts.append(empty("activity-status", code=codes.ACTIVITY_STATUS[need["status"]]))
    parts.append(empty("activity-date", type=codes.PLANNED_START, iso_date=start))
    funded = [t.date for t in transactions if t.code == 1 and not t.reversal]
    if funded:
        parts.append(empty("activity-date", type=codes.ACTUAL_START, iso_date=iso(min(funded))))
    parts.append(empty("activity-date", type=codes.PLANNED_END, iso_date=deadline))
    today = timezone.localdate()
    ended = [end for _s, end, final, *_ in reports if final and end <= today]
    if need["status"] == "completed" and ended:
        parts.append(empty("activity-date", type=codes.ACTUAL_END, iso_date=iso(ended[0])))
    parts += [
        empty("recipient-country", code=codes.COUNTRY, percentage="100"),
        _location(need, details, ref),
        _sectors(need["sector_id"], ref),
        f'<budget type="{codes.BUDGET_ORIGINAL}" status="{codes.BUDGET_INDICATIVE}">'
        f'<period-start iso-date="{start}"/><period-end iso-date="{max(start, deadline)}"/>'
        f'<value currency="{currency}" value-date="{start}">{amount(need["amount"])}</value>'
        "</budget>",
    ]
    parts += [_transaction(txn, providers) for txn in transactions]
    parts.append(_result(reports))
    parts.append("</iati-activity>")
    return etree.fromstring("".join(parts))


def iter_activities(organization, *, counted: list | None = None) -> Iterator[bytes]:
    """The file, as bytes, a batch of needs at a time. ``counted`` (a list) receives the
    number of activities written."""
    reporter = reporter_for(organization)
    ref = Reference.load()
    size = settings.IATI_EXPORT_CHUNK
    count = 0
    buffer = Buffer()
    with iati_document(buffer, "iati-activities") as xf:
        for rows in _need_batches(organization, size, reporter.organization.details):
            batch = read_batch([row["pk"] for row in rows])
            providers: dict = {}
            for row in rows:
                xf.write(build_activity(row, batch, reporter, ref, providers))
            count += len(rows)
            xf.flush()
            yield buffer.take()
    if counted is not None:
        counted.append(count)
    yield buffer.take()


def write_activities(organization, out) -> int:
    """Write the organization's ``iati-activities`` file to ``out`` (a binary file-like);
    return the number of activities."""
    counted: list = []
    write_chunks(iter_activities(organization, counted=counted), out)
    return counted[0]
