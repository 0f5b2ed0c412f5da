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
from apps.opendata.iati.xml import Buffer, amount, iso, narrative, sub
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


def _party(parent, tag: str, party: Party, **attrs) -> None:
    narrative(parent, tag, party.name, ref=party.ref or None, **attrs)


def _title_and_description(activity, need: dict, reporter: Reporter, ref: Reference) -> None:
    sector = ref.sectors[need["sector_id"]][0]
    province = ref.provinces[need["province_id"]]
    if reporter.organization.details:
        title = need["title"]
        description = need["description"].strip() or title
    else:  # no title or description of a sensitive organization's needs: sector and place
        title = f"{sector} in {province}"
        description = f"{sector} need in {province} province, Afghanistan."
    narrative(activity, "title", title)
    narrative(activity, "description", description, type="1")


def _location(activity, need: dict, details: bool, ref: Reference) -> None:
    district = need["district_id"] if details else None
    location = sub(activity, "location")
    name = ref.districts[district] if district else ref.provinces[need["province_id"]]
    narrative(location, "name", name)
    sub(
        location,
        "administrative",
        vocabulary=codes.GEOGRAPHIC_VOCABULARY,
        level="1",
        code=need["province_id"],
    )
    if district:
        sub(
            location,
            "administrative",
            vocabulary=codes.GEOGRAPHIC_VOCABULARY,
            level="2",
            code=district,
        )
    sub(location, "exactness", code=codes.GEOGRAPHIC_EXACTNESS_APPROXIMATE)
    sub(location, "location-class", code=codes.LOCATION_CLASS_ADMINISTRATIVE)
    sub(
        location, "feature-designation", code=codes.FEATURE_ADM2 if district else codes.FEATURE_ADM1
    )


def _sectors(activity, sector_code: str, ref: Reference) -> None:
    dac5 = ref.sectors[sector_code][1]
    if dac5:
        share = (Decimal(100) / len(dac5)).quantize(Decimal("0.01"))
        shares = [share] * (len(dac5) - 1) + [Decimal(100) - share * (len(dac5) - 1)]
        for code, part in zip(dac5, shares, strict=True):
            sub(
                activity,
                "sector",
                vocabulary=codes.SECTOR_DAC5,
                code=str(code),
                percentage=amount(part),
            )
    cluster = codes.CLUSTERS.get(sector_code)
    if cluster:
        sub(activity, "sector", vocabulary=codes.SECTOR_CLUSTER, code=cluster, percentage="100")


def _transaction(activity, txn: Txn) -> None:
    element = sub(activity, "transaction")
    sub(element, "transaction-type", code=str(txn.code))
    sub(element, "transaction-date", iso_date=iso(txn.date))
    sub(element, "value", currency=txn.currency, value_date=iso(txn.value_date)).text = amount(
        txn.value
    )
    if txn.reversal:
        narrative(element, "description", "Reversal of an earlier transaction of this type.")
    if txn.donor is not None:
        _party(
            element,
            "provider-org",
            txn.donor.party,
            provider_activity_id=txn.donor.activity_id or None,
        )


def _result(activity, reports: list) -> None:
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
        return
    result = sub(activity, "result", type=codes.RESULT_OUTPUT, aggregation_status="1")
    narrative(result, "title", "People reached")
    indicator = sub(
        result, "indicator", measure=codes.MEASURE_UNIT, ascending="1", aggregation_status="1"
    )
    narrative(indicator, "title", "People reached, by sex and age")
    for start, end, actuals in periods:
        period = sub(indicator, "period")
        sub(period, "period-start", iso_date=iso(start))
        sub(period, "period-end", iso_date=iso(end))
        for count, sex, age in actuals:
            actual = sub(period, "actual", value=str(count))
            if sex:
                sub(actual, "dimension", name="sex", value=sex)
                sub(actual, "dimension", name="age", value=age)


def build_activity(need: dict, batch: Batch, reporter: Reporter, ref: Reference):
    """One need as an ``iati-activity`` element."""
    details = reporter.organization.details
    transactions = batch.transactions.get(need["pk"], ())
    reports = batch.reports.get(need["pk"], ())
    start = _day(need["approved_at"] or need["submitted_at"] or need["created_at"])
    currency = need["currency_id"]
    activity = etree.Element(
        "iati-activity",
        {
            "{http://www.w3.org/XML/1998/namespace}lang": "en",
            "default-currency": currency,
            "humanitarian": "1",
            "last-updated-datetime": need["updated_at"].isoformat(timespec="seconds"),
        },
    )
    sub(activity, "iati-identifier").text = f"{reporter.ref}-{need['pk']}"
    narrative(activity, "reporting-org", reporter.name, ref=reporter.ref, type=reporter.type)
    _title_and_description(activity, need, reporter, ref)
    funders: dict = {}
    for txn in transactions:
        if txn.donor is not None:
            funders.setdefault((txn.donor.party.name, txn.donor.party.ref), txn.donor.party)
    for party in funders.values():
        _party(activity, "participating-org", party, role=codes.ROLE_FUNDING)
    _party(
        activity,
        "participating-org",
        reporter.organization,
        role=codes.ROLE_IMPLEMENTING,
        type=None,
    )
    sub(activity, "activity-status", code=codes.ACTIVITY_STATUS[need["status"]])
    sub(activity, "activity-date", type=codes.PLANNED_START, iso_date=iso(start))
    funded = [t.date for t in transactions if t.code == 1 and not t.reversal]
    if funded:
        sub(activity, "activity-date", type=codes.ACTUAL_START, iso_date=iso(min(funded)))
    sub(activity, "activity-date", type=codes.PLANNED_END, iso_date=iso(need["deadline"]))
    today = timezone.localdate()
    ended = [end for _s, end, final, *_ in reports if final and end <= today]
    if need["status"] == "completed" and ended:
        sub(activity, "activity-date", type=codes.ACTUAL_END, iso_date=iso(ended[0]))
    sub(activity, "recipient-country", code=codes.COUNTRY, percentage="100")
    _location(activity, need, details, ref)
    _sectors(activity, need["sector_id"], ref)
    budget = sub(activity, "budget", type=codes.BUDGET_ORIGINAL, status=codes.BUDGET_INDICATIVE)
    sub(budget, "period-start", iso_date=iso(start))
    sub(budget, "period-end", iso_date=iso(max(start, need["deadline"])))
    sub(budget, "value", currency=currency, value_date=iso(start)).text = amount(need["amount"])
    for txn in transactions:
        _transaction(activity, txn)
    _result(activity, reports)
    return activity


def iter_activities(organization, *, counted: list | None = None) -> Iterator[bytes]:
    """The file, as bytes, a batch of needs at a time. ``counted`` (a list) receives the
    number of activities written."""
    reporter = reporter_for(organization)
    ref = Reference.load()
    size = settings.IATI_EXPORT_CHUNK
    count = 0
    buffer = Buffer()
    with etree.xmlfile(buffer, encoding="utf-8") as xf:
        xf.write_declaration()
        attrs = {
            "version": codes.VERSION,
            "generated-datetime": timezone.now().isoformat(timespec="seconds"),
        }
        with xf.element("iati-activities", attrs):
            for rows in _need_batches(organization, size, reporter.organization.details):
                batch = read_batch([row["pk"] for row in rows])
                for row in rows:
                    xf.write(build_activity(row, batch, reporter, ref))
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
    for chunk in iter_activities(organization, counted=counted):
        if chunk:
            out.write(chunk)
    return counted[0]
