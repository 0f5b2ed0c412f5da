"""Writes for pledges: create, reduce, withdraw, expire. Each one transaction, under row locks
taken in the global order (pledge, then needs, then allocations)."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, PledgeStatus, check_transition
from aidmatch.money import format_money
from apps.audit.services import audit_record, audit_snapshot
from apps.core import partner
from apps.events import payloads as events
from apps.events.services import record_event
from apps.ledger import services as ledger  # ledger: postings in the same transaction
from apps.matching.locks import lock_pledge_with_needs
from apps.matching.services.allocations import release_proposals, save_locked_totals
from apps.matching.triggers import request_matching
from apps.organizations.models import Organization, OrganizationStatus
from apps.pledges.models import Pledge
from apps.reference.models import Province, Sector


def _check_earmarks(*, organization: Organization | None, need) -> None:
    """An earmarked organization must be verified and an earmarked need open (422 otherwise)."""
    errors: dict[str, list[str]] = {}
    if organization is not None and organization.status != OrganizationStatus.VERIFIED:
        errors["earmark_organization"] = [
            _("This organization is not verified, so it cannot receive pledges yet.")
        ]
    if need is not None:
        if need.status not in NEED_FUNDABLE:
            errors["earmark_need"] = [_("This need is %(status)s, not open for funding.")]
        elif organization is not None and need.organization_id != organization.pk:
            errors["earmark_need"] = [_("This need belongs to another organization.")]
    if errors:
        raise RuleViolation(
            next(iter(errors.values()))[0],
            errors=errors,
            params={"status": need.status if need is not None else ""},
        )


def _set_earmarks(owner, sectors, provinces) -> list[tuple[str, list]]:
    """A new pledge's (or recurring pledge's) earmarks. On PostgreSQL, the statements are
    returned, to be sent with its event in one round trip whatever their number
    (``record_event``'s ``with_statements``; the foreign keys check the codes)."""
    sectors = list(dict.fromkeys(getattr(s, "pk", s) for s in sectors))
    provinces = list(dict.fromkeys(getattr(p, "pk", p) for p in provinces))
    if connection.vendor != "postgresql":
        owner.earmark_sectors.set(sectors)
        owner.earmark_provinces.set(provinces)
        return []
    statements = []
    for codes, name, column in (
        (sectors, "earmark_sectors", "sector_id"),
        (provinces, "earmark_provinces", "province_id"),
    ):
        if codes:
            field = type(owner)._meta.get_field(name)
            statements.append(
                (
                    f"INSERT INTO {field.remote_field.through._meta.db_table} "
                    f"({field.m2m_column_name()}, {column}) "
                    "SELECT %s, unnest(%s::varchar[])",
                    [owner.pk, codes],
                )
            )
    return statements


def _known_earmarks(pledge, sectors, provinces) -> None:
    """Let the response show the earmarks just written without reading them back (as a
    prefetch would have left them: in the reference tables' order, by code). For a pledge or
    a recurring pledge."""
    pledge._prefetched_objects_cache = {}
    for name, rows in (("earmark_sectors", sectors), ("earmark_provinces", provinces)):
        queryset = getattr(pledge, name).all()
        queryset._result_cache = sorted({row.pk: row for row in rows}.values(), key=_pk)
        queryset._prefetch_done = True
        pledge._prefetched_objects_cache[name] = queryset


def _pk(row):
    return row.pk


def write_earmarks(owner, sectors, provinces) -> tuple[list[tuple[str, list]], dict]:
    """A new pledge's (or recurring pledge's) earmarks: the statements to send with its event
    (``_set_earmarks``), known to the response without reading them back, and their audit
    detail."""
    statements = _set_earmarks(owner, sectors, provinces)
    _known_earmarks(
        owner,
        [s if hasattr(s, "pk") else Sector(code=s) for s in sectors],
        [p if hasattr(p, "pk") else Province(pcode=p) for p in provinces],
    )
    detail = {
        "earmark_sectors": sorted(str(getattr(s, "pk", s)) for s in sectors),
        "earmark_provinces": sorted(str(getattr(p, "pk", p)) for p in provinces),
    }
    return statements, detail


def pledge_create(
    *,
    donor=None,
    donor_organization=None,
    api_key=None,
    amount: Decimal,
    currency,
    earmark_sectors=(),
    earmark_provinces=(),
    earmark_organization=None,
    earmark_need=None,
    expires_at=None,
    commit_window: timedelta | None = None,
    auto_commit: bool = False,
    public_message: str = "",
    anonymous: bool = False,
    metadata: dict | None = None,
    external_reference: str | None = None,
    schedule=None,
    schedule_period=None,
) -> Pledge:
    """A new pledge; ``schedule`` and ``schedule_period`` for a recurring pledge's occurrence
    (``apps.pledges.schedules``), made through here so it is checked, posted, announced and
    matched exactly like any other pledge."""
    if donor is None and donor_organization is None:
        raise RuleViolation(_("A pledge needs a donor."))
    if expires_at is not None and expires_at <= timezone.now():
        raise RuleViolation(
            _("The expiry must be in the future."),
            errors={"expires_at": [_("Must be in the future.")]},
        )
    _check_earmarks(organization=earmark_organization, need=earmark_need)
    # One transaction, no savepoint: every check that can refuse the pledge is made above, but
    # for a taken external_reference, which only the insert finds (then a savepoint, so that the
    # pledge that has it can be named).
    with (
        partner.reference_guard(
            external_reference,
            constraints=REFERENCE_CONSTRAINTS,
            existing=lambda: _with_reference(
                getattr(donor, "pk", None),
                getattr(donor_organization, "pk", None),
                external_reference,
            ),
            what="pledge",
        ),
        transaction.atomic(savepoint=external_reference is not None),
    ):
        pledge = Pledge.objects.create(
            donor=donor,
            donor_organization=donor_organization,
            created_by_key=api_key,
            amount=amount,
            original_amount=amount,
            currency=currency,
            earmark_organization=earmark_organization,
            earmark_need=earmark_need,
            expires_at=expires_at,
            commit_window=commit_window or Pledge._meta.get_field("commit_window").default,
            auto_commit=auto_commit,
            public_message=public_message,
            anonymous=anonymous,
            metadata=metadata or {},
            external_reference=external_reference,
            schedule=schedule,
            schedule_period=schedule_period,
        )
        earmarks, earmark_detail = write_earmarks(pledge, earmark_sectors, earmark_provinces)
        record_event(
            EventType.PLEDGE_CREATED,
            **events.pledge_routing(pledge),
            with_statements=earmarks,
        )
        ledger.post_pledge_made(pledge=pledge)  # ledger: 13 incoming pledge
        audit_record(
            action="pledge.create",
            obj=pledge,
            after=audit_snapshot(pledge),
            detail={
                **earmark_detail,
                **partner.named({"metadata": metadata, "external_reference": external_reference}),
            },
        )
        request_matching(reason="pledge made", pledge_ids=[pledge.pk])
    return pledge


REFERENCE_CONSTRAINTS = ("pledge_reference_per_donor", "pledge_reference_per_donor_organization")


def _with_reference(donor_id, donor_organization_id, reference: str, *, besides=None):
    """The id of the donor's pledge that has ``reference`` (``besides`` left out)."""
    if donor_id is not None:
        mine = Pledge.objects.filter(donor_id=donor_id)
    else:
        mine = Pledge.objects.filter(donor_organization_id=donor_organization_id)
    if besides is not None:
        mine = mine.exclude(pk=besides)
    return mine.filter(external_reference=reference).values_list("pk", flat=True).first()


def pledge_update(*, pledge_id, actor, amount: Decimal | None = None, **fields) -> Pledge:
    """PATCH: a lower amount and/or the donor's own fields, in one transaction (a reduction
    alone costs what ``pledge_reduce`` costs)."""
    if amount is None:
        return pledge_set_partner_fields(pledge_id=pledge_id, actor=actor, **fields)
    if not fields:
        return pledge_reduce(pledge_id=pledge_id, actor=actor, amount=amount)
    with transaction.atomic():
        pledge_reduce(pledge_id=pledge_id, actor=actor, amount=amount)
        return pledge_set_partner_fields(pledge_id=pledge_id, actor=actor, **fields)


@transaction.atomic
def pledge_set_partner_fields(*, pledge_id, actor, **fields) -> Pledge:
    """Set the donor's own ``metadata`` and/or ``external_reference`` on its pledge, whatever
    the pledge's state; a reference the donor already used is a 409 naming that pledge."""
    pledge = (
        Pledge.objects.select_for_update(no_key=True, of=("self",))
        .select_related("currency")
        .get(pk=pledge_id)
    )
    _require_donor(pledge, actor)
    changed = partner.set_fields(
        pledge,
        fields,
        constraints=REFERENCE_CONSTRAINTS,
        existing=lambda: _with_reference(
            pledge.donor_id,
            pledge.donor_organization_id,
            pledge.external_reference,
            besides=pledge.pk,
        ),
        what="pledge",
    )
    if not changed:
        return pledge
    audit_record(action="pledge.annotate", obj=pledge, detail={"creator_fields_changed": changed})
    return pledge


def _require_donor(pledge: Pledge, actor) -> None:
    own = (pledge.donor_id is not None and pledge.donor_id == getattr(actor, "pk", None)) or (
        pledge.donor_organization_id is not None
        and pledge.donor_organization_id == getattr(actor, "organization_id", None)
    )
    if not own:
        raise NotPermitted(_("Only the pledge's donor may change it."))


def _shrink_to(pledge: Pledge, needs: dict, proposals: dict, new_amount: Decimal, reason: str):
    """Set a locked pledge's amount, releasing its newest proposals until they fit."""
    if new_amount < pledge.committed_amount:
        committed = format_money(pledge.committed_amount, pledge.currency)
        raise StateConflict(
            _("The pledge cannot go below the %(committed)s already committed."),
            errors={"amount": [_("Must be at least %(committed)s.")]},
            params={"committed": committed},
        )
    pledge.amount = new_amount
    return release_proposals(
        proposals.values(),
        {pledge.pk: pledge},
        needs,
        reason=reason,
        keep_within=lambda: pledge.committed_amount + pledge.proposed_amount <= new_amount,
    )


@transaction.atomic
def pledge_reduce(*, pledge_id, actor, amount: Decimal) -> Pledge:
    """Lower a live pledge's amount, never below what is committed (409); proposals above the
    new amount are released, newest first."""
    pledge, needs, proposals = lock_pledge_with_needs(pledge_id)
    _require_donor(pledge, actor)
    if pledge.status not in PLEDGE_LIVE:
        raise StateConflict(
            _("A %(status)s pledge cannot be changed."), params={"status": pledge.status}
        )
    if amount > pledge.amount:
        raise RuleViolation(
            _("A pledge can be reduced, not raised: make a new pledge to give more."),
            errors={"amount": [_("Must be at most %(amount)s.")]},
            params={"amount": format_money(pledge.amount, pledge.currency)},
        )
    previous_amount = pledge.amount
    before = audit_snapshot(pledge, fields=["amount", "status"])
    released = _shrink_to(pledge, needs, proposals, amount, "pledge reduced by the donor")
    save_locked_totals({pledge.pk: pledge}, needs)
    pledge.save(update_fields=["amount", "updated_at"])
    # ledger: the part given up goes back to the donor (reversal of the incoming pledge)
    ledger.post_pledge_reduced(
        pledge=pledge, previous_amount=previous_amount, reason="reduced by the donor"
    )
    events.record(
        events.allocation_events(
            EventType.ALLOCATION_RELEASED, released, {pledge.pk: pledge}, needs
        ),
        events.pledge_event(EventType.PLEDGE_REDUCED, pledge),
    )
    audit_record(
        action="pledge.reduce",
        obj=pledge,
        before=before,
        after=audit_snapshot(pledge, fields=["amount", "status"]),
    )
    return pledge


@transaction.atomic
def pledge_withdraw(*, pledge_id, actor) -> Pledge:
    """Withdraw what is not committed: proposals are released and the amount drops to the
    committed money, which stays on its way. Nothing committed: the pledge is withdrawn."""
    pledge, needs, proposals = lock_pledge_with_needs(pledge_id)
    _require_donor(pledge, actor)
    return _end(pledge, needs, proposals, PledgeStatus.WITHDRAWN, "pledge withdrawn by the donor")


def _end(pledge: Pledge, needs, proposals, final: PledgeStatus, reason: str) -> Pledge:
    if pledge.status not in PLEDGE_LIVE:
        check_transition("pledge", pledge.status, final)
    previous_amount = pledge.amount
    before = audit_snapshot(pledge, fields=["amount", "status"])
    released = _shrink_to(pledge, needs, proposals, pledge.committed_amount, reason)
    save_locked_totals({pledge.pk: pledge}, needs)
    if pledge.committed_amount == 0:
        check_transition("pledge", pledge.status, final)
        pledge.status = final
        pledge.withdrawn_at = timezone.now()
    pledge.save(update_fields=["amount", "status", "withdrawn_at", "updated_at"])
    # ledger: the uncommitted part goes back to the donor (reversal of the incoming pledge)
    ledger.post_pledge_reduced(pledge=pledge, previous_amount=previous_amount, reason=reason)
    if final == PledgeStatus.WITHDRAWN:
        ended = EventType.PLEDGE_WITHDRAWN
    else:
        ended = EventType.PLEDGE_EXPIRED
    events.record(
        events.allocation_events(
            EventType.ALLOCATION_RELEASED, released, {pledge.pk: pledge}, needs
        ),
        events.pledge_event(ended, pledge),
    )
    audit_record(
        action="pledge.withdraw" if final == PledgeStatus.WITHDRAWN else "pledge.expire",
        obj=pledge,
        before=before,
        after=audit_snapshot(pledge, fields=["amount", "status"]),
        detail={"reason": reason},
    )
    return pledge


def pledge_expire_due(*, now=None) -> int:
    """End pledges past their expiry (a periodic task): the same as a withdrawal."""
    now = now or timezone.now()
    due = Pledge.objects.filter(status__in=PLEDGE_LIVE, expires_at__lte=now)
    count = 0
    for pledge_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            pledge, needs, proposals = lock_pledge_with_needs(pledge_id)
            if pledge.status in PLEDGE_LIVE and pledge.expires_at and pledge.expires_at <= now:
                _end(pledge, needs, proposals, PledgeStatus.EXPIRED, "pledge expired")
                count += 1
    return count
