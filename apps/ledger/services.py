"""Writes to the ledger: accounts, and postings for the domain's money events.

Every posting is made inside the transaction of the change it records (the caller's, when there
is one), so the ledger and the cached totals it backs commit or roll back together. The rules of
a valid posting live in ``aidmatch.ledger``; this module checks them before writing, and the
database checks the balance again at commit.
"""

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from aidmatch import ledger as rules
from aidmatch.ledger import AccountKind, IatiTransactionType, LedgerError, PostingLeg
from apps.ledger.models import Account, LedgerTransaction, Leg
from apps.reference.models import Currency

K = AccountKind
LegSpec = tuple[Account, Decimal, str | Currency]

_minor_units: dict[str, int] = {}


def _minor_units_for(codes: set[str]) -> dict[str, int]:
    """ISO 4217 minor units, read once per process (reference data does not change at runtime)."""
    missing = codes - _minor_units.keys()
    if missing:
        _minor_units.update(
            Currency.objects.filter(code__in=missing).values_list("code", "minor_unit")
        )
    return {code: _minor_units[code] for code in codes if code in _minor_units}


def _code(currency: str | Currency) -> str:
    return currency.code if isinstance(currency, Currency) else str(currency)


# --- Accounts -------------------------------------------------------------------------------------


# Get or create accounts by key in one statement (PostgreSQL): the rows that exist are read,
# the others inserted. A row that a concurrent transaction inserted and committed while this
# statement waited on its key is not in this statement's snapshot: it is read again after.
_ACCOUNTS = """
WITH want (key, kind, currency_id, pledge_id, need_id, organization_id) AS (
    SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::uuid[], %s::uuid[],
                         %s::uuid[])
), made AS (
    INSERT INTO ledger_account
        (key, kind, currency_id, pledge_id, need_id, organization_id, created_at)
    SELECT key, kind, currency_id, pledge_id, need_id, organization_id, %s FROM want
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key
)
SELECT id, key FROM made
UNION ALL
SELECT account.id, account.key FROM ledger_account AS account JOIN want USING (key)
"""
_OWNERS = ("pledge_id", "need_id", "organization_id")


def _accounts(specs: Sequence[tuple[str, AccountKind, str, dict]]) -> dict[str, Account]:
    """Accounts by key, created when missing: ``specs`` are (key, kind, currency, owner ids).
    Two first postings racing create an account once."""
    if connection.vendor != "postgresql":
        return {
            key: Account.objects.get_or_create(
                key=key, defaults={"kind": kind, "currency_id": currency, **owner}
            )[0]
            for key, kind, currency, owner in specs
        }
    columns = [[key for key, *_ in specs], [str(k) for _, k, _, _ in specs]]
    columns.append([currency for _, _, currency, _ in specs])
    columns += [[owner.get(name) for *_, owner in specs] for name in _OWNERS]
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNTS, [*columns, timezone.now()])
        ids = dict((key, pk) for pk, key in cursor.fetchall())
    missing = {key for key, *_ in specs} - ids.keys()
    if missing:  # inserted by a concurrent transaction that committed while we waited
        ids.update((a.key, a.pk) for a in Account.objects.filter(key__in=missing))
    return {
        key: Account(pk=ids[key], key=key, kind=kind, currency_id=currency, **owner)
        for key, kind, currency, owner in specs
    }


def _account(key: str, kind: AccountKind, currency: str, **owner) -> Account:
    return _accounts([(key, kind, currency, owner)])[key]


def account_for_pledge(pledge) -> Account:
    """The pledge's account: what was pledged and is not yet committed (pledge currency)."""
    key = rules.account_key(K.DONOR_PLEDGE, pledge.currency_id, pledge.pk)
    return _account(key, K.DONOR_PLEDGE, pledge.currency_id, pledge_id=pledge.pk)


def account_for_need(need) -> Account:
    """The need's account: what is committed to it and not yet disbursed (need currency)."""
    key = rules.account_key(K.NEED, need.currency_id, need.pk)
    return _account(key, K.NEED, need.currency_id, need_id=need.pk)


def account_for_organization(organization, currency: str | Currency) -> Account:
    """What an organization has received, in one currency."""
    code = _code(currency)
    key = rules.account_key(K.ORGANIZATION, code, organization.pk)
    return _account(key, K.ORGANIZATION, code, organization_id=organization.pk)


def shared_account(kind: AccountKind, currency: str | Currency) -> Account:
    """One of the platform's accounts per currency: in transit, fees, FX, external."""
    code = _code(currency)
    return _account(rules.account_key(kind, code), AccountKind(kind), code)


def _accounts_by_key(keys: set[str]) -> dict[str, Account]:
    """Accounts for keys (the FX accounts a transfer names are created on first use)."""
    found = {a.key: a for a in Account.objects.filter(key__in=keys)}
    for key in keys - found.keys():
        kind = rules.key_kind(key)
        if kind.owned:
            raise LedgerError(f"Account {key} does not exist: create it with account_for_*.")
        found[key] = shared_account(kind, rules.key_currency(key))
    return found


# --- Posting --------------------------------------------------------------------------------------


def _stored_legs(txn: LedgerTransaction) -> list[PostingLeg]:
    return [
        PostingLeg(leg.account.key, leg.amount, leg.currency_id)
        for leg in txn.legs.select_related("account")
    ]


def _same_posting(txn: LedgerTransaction, iati_type, legs, refs: dict, reverses) -> bool:
    return (
        txn.iati_type == int(iati_type)
        and txn.reverses_id == getattr(reverses, "pk", None)
        and all(
            getattr(txn, f"{name}_id") == getattr(obj, "pk", None) for name, obj in refs.items()
        )
        and rules.net(_stored_legs(txn)) == rules.net(legs)
    )


def _replay(key: str, iati_type, legs, refs, reverses) -> LedgerTransaction | None:
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is None:
        return None
    if not _same_posting(existing, iati_type, legs, refs, reverses):
        raise rules.PostingConflict(
            f"Ledger key '{key}' was already posted with a different body "
            f"(transaction {existing.pk})."
        )
    return existing


def ledger_post(
    *,
    key: str,
    iati_type: IatiTransactionType | int,
    description: str,
    legs: Sequence[LegSpec],
    pledge=None,
    need=None,
    allocation=None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction, once per ``key``.

    ``legs`` are (account, signed amount, currency). A repeat with the same key and the same
    body returns the transaction already posted; the same key with another body raises
    PostingConflict. A reversal names the transaction it ``reverses``: it must run back along
    that transaction's accounts and, with earlier reversals, undo no more than it moved.
    """
    iati_type = IatiTransactionType(iati_type)
    posting = [PostingLeg(account.key, amount, _code(cur)) for account, amount, cur in legs]
    refs = {"pledge": pledge, "need": need, "allocation": allocation}
    rules.check_posting(posting, _minor_units_for({leg.currency for leg in posting}))
    # No savepoint: a failure below fails the caller's transaction (it is one change).
    with transaction.atomic(savepoint=False):
        return _post(key, iati_type, description, legs, posting, refs, reverses)


def _post(key, iati_type, description, legs, posting, refs, reverses) -> LedgerTransaction:
    if reverses is None and connection.vendor == "postgresql":
        txn = _insert_posting(key, iati_type, description, legs, posting, refs, None)
        if txn is not None:
            return txn
    existing = _replay(key, iati_type, posting, refs, reverses)
    if existing is not None:
        return existing
    if reverses is not None:
        if reverses.iati_type != iati_type:
            raise LedgerError("A reversal has the type of the transaction it reverses.")
        # One reversal of a transaction at a time, so two cannot together undo more than it moved.
        list(
            LedgerTransaction.objects.select_for_update(no_key=True)
            .filter(pk=reverses.pk)
            .values("pk")
        )
        before = Leg.objects.filter(transaction__reverses=reverses).select_related("account")
        rules.check_reversal(
            _stored_legs(reverses),
            [PostingLeg(leg.account.key, leg.amount, leg.currency_id) for leg in before],
            posting,
        )
        if connection.vendor == "postgresql":
            txn = _insert_posting(key, iati_type, description, legs, posting, refs, reverses)
            if txn is not None:
                return txn
            existing = _replay(key, iati_type, posting, refs, reverses)  # a twin committed first
            if existing is None:
                raise LedgerError(f"Ledger key '{key}' could not be posted.")
            return existing
    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                key=key,
                iati_type=iati_type,
                description=description[:300],
                reverses=reverses,
                **refs,
            )
    except IntegrityError:
        # A twin posted the same key concurrently and committed first.
        existing = _replay(key, iati_type, posting, refs, reverses)
        if existing is None:
            raise
        return existing
    Leg.objects.bulk_create(
        Leg(transaction=txn, account=account, amount=leg.amount, currency_id=leg.currency)
        for (account, _, _), leg in zip(legs, posting, strict=True)
    )
    return txn


# A posting in one statement (PostgreSQL): the transaction, unless its key was posted already
# (then nothing, and the caller compares with what was posted), and its legs. A twin's
# uncommitted insert of the same key makes this wait for the twin's outcome.
_POSTING = """
WITH txn AS (
    INSERT INTO ledger_transaction
        (key, iati_type, reverses_id, description, pledge_id, need_id, allocation_id, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (key) DO NOTHING
    RETURNING id
)
INSERT INTO ledger_leg (transaction_id, account_id, amount, currency_id)
SELECT txn.id, leg.account_id, leg.amount, leg.currency_id
FROM txn, unnest(%s::bigint[], %s::numeric[], %s::varchar[])
    AS leg (account_id, amount, currency_id)
RETURNING transaction_id
"""


def _insert_posting(
    key, iati_type, description, legs, posting, refs, reverses
) -> LedgerTransaction | None:
    now = timezone.now()
    ref_ids = {f"{name}_id": getattr(obj, "pk", None) for name, obj in refs.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTING,
            [
                key,
                int(iati_type),
                getattr(reverses, "pk", None),
                description[:300],
                ref_ids["pledge_id"],
                ref_ids["need_id"],
                ref_ids["allocation_id"],
                now,
                [account.pk for account, _, _ in legs],
                [leg.amount for leg in posting],
                [leg.currency for leg in posting],
            ],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return LedgerTransaction(
        pk=rows[0][0],
        key=key,
        iati_type=int(iati_type),
        reverses=reverses,
        description=description[:300],
        created_at=now,
        **ref_ids,
    )


def _post_legs(
    legs: Sequence[PostingLeg], *, known: dict[str, Account] | None = None, **kwargs
) -> LedgerTransaction:
    """Post legs named by account keys; ``known`` accounts are not read again."""
    known = known or {}
    missing = {leg.account for leg in legs} - known.keys()
    accounts = {**known, **(_accounts_by_key(missing) if missing else {})}
    return ledger_post(
        legs=[(accounts[leg.account], leg.amount, leg.currency) for leg in legs], **kwargs
    )


def _quantized(amount: Decimal, currency: str) -> Decimal:
    """``amount`` at its currency's minor unit; an amount finer than that is a bug, not rounded."""
    exact = amount.quantize(Decimal(1).scaleb(-_minor_units_for({currency})[currency]))
    if exact != amount:
        raise LedgerError(f"{amount} {currency} has more decimals than {currency} has.")
    return exact


# --- The domain's money events --------------------------------------------------------------------


def pledge_made_key(pledge) -> str:
    return f"pledge-made:{pledge.pk}"


def allocation_committed_key(allocation) -> str:
    return f"allocation-committed:{allocation.pk}"


def _pledge_accounts(pledge) -> tuple[dict[str, Account], str, str]:
    """The external account and the pledge's, in one statement."""
    currency = pledge.currency_id
    external_key = rules.account_key(K.EXTERNAL, currency)
    pledge_key = rules.account_key(K.DONOR_PLEDGE, currency, pledge.pk)
    accounts = _accounts(
        [
            (external_key, K.EXTERNAL, currency, {}),
            (pledge_key, K.DONOR_PLEDGE, currency, {"pledge_id": pledge.pk}),
        ]
    )
    return accounts, external_key, pledge_key


def post_pledge_made(*, pledge) -> LedgerTransaction:
    """13 incoming pledge: the donor's money, still outside, is pledged (external → pledge)."""
    amount = _quantized(pledge.original_amount, pledge.currency_id)
    currency = pledge.currency_id
    accounts, external_key, pledge_key = _pledge_accounts(pledge)
    return ledger_post(
        key=pledge_made_key(pledge),
        iati_type=rules.PLEDGE_MADE,
        description=f"Pledge {pledge.pk} made: {amount} {currency}",
        legs=[
            (accounts[external_key], -amount, currency),
            (accounts[pledge_key], amount, currency),
        ],
        pledge=pledge,
    )


def post_pledge_reduced(
    *, pledge, previous_amount: Decimal, reason: str
) -> LedgerTransaction | None:
    """Reverse the part of the pledge given up (reduced, withdrawn, expired): pledge → external.

    A pledge's amount only ever goes down, so its new amount names the reduction uniquely: a
    repeat of the same reduction posts nothing new.
    """
    removed = _quantized(previous_amount - pledge.amount, pledge.currency_id)
    if removed <= 0:
        return None
    made = LedgerTransaction.objects.filter(key=pledge_made_key(pledge)).first()
    if made is None:
        raise LedgerError(f"Pledge {pledge.pk} has no pledge-made posting to reduce.")
    new_amount = _quantized(pledge.amount, pledge.currency_id)
    accounts, external_key, pledge_key = _pledge_accounts(pledge)
    return ledger_post(
        key=f"pledge-reduced:{pledge.pk}:{new_amount}",
        iati_type=rules.PLEDGE_MADE,
        description=(
            f"Pledge {pledge.pk} reduced by {removed} {pledge.currency_id} to {new_amount}: "
            f"{reason}"
        ),
        legs=[
            (accounts[pledge_key], -removed, pledge.currency_id),
            (accounts[external_key], removed, pledge.currency_id),
        ],
        pledge=pledge,
        reverses=made,
    )


def post_pledge_opening(*, pledge) -> LedgerTransaction:
    """The postings of a pledge made outside ``pledge_create`` (rows that predate the ledger, test
    factories): made at its original amount, reduced to its amount."""
    made = post_pledge_made(pledge=pledge)
    post_pledge_reduced(
        pledge=pledge, previous_amount=pledge.original_amount, reason="opening balance"
    )
    return made


def post_allocation_committed(*, allocation, pledge=None, need=None) -> LedgerTransaction:
    """2 outgoing commitment: the allocation's money leaves the pledge for the need, converted
    through FX when their currencies differ (``amount`` in the pledge's currency, ``need_amount``
    in the need's, both on the allocation)."""
    pledge = pledge or allocation.pledge
    need = need or allocation.need
    pledge_key = rules.account_key(K.DONOR_PLEDGE, pledge.currency_id, pledge.pk)
    need_key = rules.account_key(K.NEED, need.currency_id, need.pk)
    known = _accounts(  # both in one statement
        [
            (pledge_key, K.DONOR_PLEDGE, pledge.currency_id, {"pledge_id": pledge.pk}),
            (need_key, K.NEED, need.currency_id, {"need_id": need.pk}),
        ]
    )
    pledge_account, need_account = known[pledge_key], known[need_key]
    legs = rules.transfer(
        source=pledge_account.key,
        target=need_account.key,
        amount=_quantized(allocation.amount, pledge.currency_id),
        currency=pledge.currency_id,
        target_amount=_quantized(allocation.need_amount, need.currency_id),
        target_currency=need.currency_id,
    )
    rate = "" if pledge.currency_id == need.currency_id else f" at {allocation.rate.normalize()}"
    return _post_legs(
        legs,
        known=known,
        key=allocation_committed_key(allocation),
        iati_type=rules.ALLOCATION_COMMITTED,
        description=(
            f"Allocation {allocation.pk} committed: {legs[0].amount.copy_abs()} "
            f"{pledge.currency_id} of pledge {pledge.pk} to need {need.pk} "
            f"({legs[-1].amount} {need.currency_id}{rate})"
        ),
        pledge=pledge,
        need=need,
        allocation=allocation,
    )


def post_allocation_uncommitted(*, allocation, reason: str) -> LedgerTransaction:
    """Reverse a commitment in full (a committed allocation released, or its money returned for
    good): need → pledge, at the rate it was committed, so FX nets to zero."""
    committed = LedgerTransaction.objects.filter(key=allocation_committed_key(allocation)).first()
    if committed is None:
        raise LedgerError(f"Allocation {allocation.pk} has no commitment posting to reverse.")
    return _post_legs(
        rules.reversal(_stored_legs(committed)),
        key=f"allocation-uncommitted:{allocation.pk}",
        iati_type=committed.iati_type,
        description=f"Allocation {allocation.pk} commitment reversed: {reason}",
        pledge=committed.pledge,
        need=committed.need,
        allocation=allocation,
        reverses=committed,
    )


# --- Disbursements (to be called by apps/disbursements/services.py) -------------------------------


def _sent_legs(disbursement) -> list[PostingLeg]:
    """Each line's money leaves its need's account; what the channel keeps (the fee's share,
    rounded down) goes to fees, the rest is in transit, all in the need's currency."""
    totals: dict[tuple[str, str], Decimal] = {}

    def add(key: str, amount: Decimal, currency: str) -> None:
        totals[(key, currency)] = totals.get((key, currency), Decimal(0)) + amount

    kept = disbursement.fee_amount / disbursement.amount
    for line in disbursement.lines.select_related("allocation__need"):
        need = line.allocation.need
        if line.need_amount == 0:
            continue
        cur = need.currency_id
        fee = (line.need_amount * kept).quantize(
            Decimal(1).scaleb(-_minor_units_for({cur})[cur]), rounding=ROUND_DOWN
        )
        add(account_for_need(need).key, -line.need_amount, cur)
        add(rules.account_key(K.IN_TRANSIT, cur), line.need_amount - fee, cur)
        if fee:
            add(rules.account_key(K.FEES, cur), fee, cur)
    return [PostingLeg(key, amount, cur) for (key, cur), amount in totals.items() if amount]


def post_disbursement_sent(*, disbursement) -> LedgerTransaction:
    """3 disbursement: a tranche leaves the needs' accounts for transit (and fees). Call from
    ``disbursement_mark_sent``, after the lines and totals are saved."""
    return _post_legs(
        _sent_legs(disbursement),
        key=f"disbursement-sent:{disbursement.pk}",
        iati_type=rules.DISBURSEMENT_SENT,
        description=(
            f"Tranche {disbursement.pk} sent to organization {disbursement.organization_id}: "
            f"{disbursement.amount} {disbursement.currency_id} "
            f"(fee {disbursement.fee_amount})"
        ),
    )


def post_disbursement_received(*, disbursement) -> LedgerTransaction:
    """3 disbursement (the organization's 1 incoming funds): what is in transit arrives in the
    organization's account, in the currency it confirmed. A difference in the same currency
    (a rate or rounding on the day) is booked to FX; another currency is converted through
    FX. Call from ``disbursement_confirm_receipt``."""
    sent = LedgerTransaction.objects.get(key=f"disbursement-sent:{disbursement.pk}")
    in_transit = [leg for leg in _stored_legs(sent) if rules.key_kind(leg.account) == K.IN_TRANSIT]
    received_cur = disbursement.received_currency_id
    organization = account_for_organization(disbursement.organization, received_cur).key
    received = _quantized(disbursement.received_amount, received_cur)
    legs = [leg.negated() for leg in in_transit]
    if len(in_transit) == 1 and in_transit[0].currency == received_cur:
        difference = in_transit[0].amount - received
        legs.append(PostingLeg(organization, received, received_cur))
        if difference:
            legs.append(PostingLeg(rules.account_key(K.FX, received_cur), difference, received_cur))
    else:
        legs += [
            PostingLeg(rules.account_key(K.FX, leg.currency), leg.amount, leg.currency)
            for leg in in_transit
        ]
        legs += [
            PostingLeg(rules.account_key(K.FX, received_cur), -received, received_cur),
            PostingLeg(organization, received, received_cur),
        ]
    return _post_legs(
        [leg for leg in legs if leg.amount],
        key=f"disbursement-received:{disbursement.pk}",
        iati_type=rules.RECEIPT_CONFIRMED,
        description=(
            f"Tranche {disbursement.pk} received by organization {disbursement.organization_id}: "
            f"{received} {received_cur}"
        ),
    )


def post_disbursement_given_back(*, disbursement, reason: str) -> list[LedgerTransaction]:
    """A tranche failed or returned: reverse its receipt, then its sending, so its money is back
    on the needs' accounts (nothing to reverse for a tranche never sent). Call from
    ``disbursement_mark_failed`` / ``disbursement_mark_returned``."""
    posted = []
    for step in ("received", "sent"):
        original = LedgerTransaction.objects.filter(
            key=f"disbursement-{step}:{disbursement.pk}"
        ).first()
        if original is None:
            continue
        posted.append(
            _post_legs(
                rules.reversal(_stored_legs(original)),
                key=f"disbursement-{step}-reversed:{disbursement.pk}",
                iati_type=original.iati_type,
                description=f"Tranche {disbursement.pk} {step} reversed: {reason}",
                reverses=original,
            )
        )
    return posted


def refund_key(refund_id) -> str:
    return f"disbursement-refund:{refund_id}"


def post_refund_recorded(*, refund, disbursement) -> LedgerTransaction:
    """3 disbursement, run back: money the organization gave back after receipt leaves its
    account (in the currency it received) for the donor, outside. The tranche's receipt stands.
    Call from ``disbursement_refund``."""
    cur = refund.currency_id
    amount = _quantized(refund.amount, cur)
    return _post_legs(
        [
            PostingLeg(account_for_organization(disbursement.organization, cur).key, -amount, cur),
            PostingLeg(rules.account_key(K.EXTERNAL, cur), amount, cur),
        ],
        key=refund_key(refund.pk),
        iati_type=rules.REFUND_RECORDED,
        description=(
            f"Tranche {disbursement.pk} refund {refund.pk} by organization "
            f"{disbursement.organization_id}: {amount} {cur}: {refund.reason}"
        ),
    )


def post_expenditure_reported(*, report) -> LedgerTransaction | None:
    """4 expenditure: what a delivery report says was spent leaves the organization's account
    (in the need's currency) for the world outside. Nothing to post for a report of no spending."""
    need = report.need
    cur = need.currency_id
    spent = _quantized(Decimal(report.amount_spent), cur)
    if not spent:
        return None
    return _post_legs(
        [
            PostingLeg(account_for_organization(need.organization, cur).key, -spent, cur),
            PostingLeg(rules.account_key(K.EXTERNAL, cur), spent, cur),
        ],
        key=f"expenditure-reported:{report.pk}",
        iati_type=rules.EXPENDITURE_REPORTED,
        description=f"Report {report.pk} on need {need.pk}: {spent} {cur} spent",
        need=need,
    )


# --- Rows that predate the ledger -----------------------------------------------------------------


def ledger_backfill() -> dict[str, int]:
    """Post the opening transactions of pledges and committed allocations that have none (a
    database that predates the ledger): run once after migrating, before serving. Each pledge
    is done under its lock and that of its needs, in the global order; repeats post nothing."""
    from aidmatch.lifecycle import ALLOCATION_COMMITTED
    from apps.matching.locks import lock_pledge_with_needs
    from apps.matching.models import Allocation
    from apps.pledges.models import Pledge

    done = {"pledges": 0, "commitments": 0}
    posted = LedgerTransaction.objects.filter(key__startswith="pledge-made:")
    pledge_ids = Pledge.objects.exclude(
        pk__in=posted.exclude(pledge=None).values("pledge_id")
    ).values_list("pk", flat=True)
    for pledge_id in pledge_ids.iterator():
        with transaction.atomic():
            pledge, _, _ = lock_pledge_with_needs(pledge_id, statuses=tuple(ALLOCATION_COMMITTED))
            ledger_amount = pledge.original_amount
            post_pledge_made(pledge=pledge)
            for allocation in Allocation.objects.filter(
                pledge=pledge, status__in=ALLOCATION_COMMITTED
            ).select_related("need"):
                post_allocation_committed(allocation=allocation, pledge=pledge)
                done["commitments"] += 1
            post_pledge_reduced(
                pledge=pledge, previous_amount=ledger_amount, reason="opening balance"
            )
            done["pledges"] += 1
    return done
