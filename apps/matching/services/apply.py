"""Write a solution: only its difference from the current proposals, under row locks.

The solver worked on a snapshot read without locks; here the pledges whose proposals change,
and every need those proposals touch, are locked in bulk (one statement per table, in the
global order of ``locks.py``) and re-checked (still live, still open, organization still
verified, capacity still there); then the proposals are released, resized or created so that
the database holds the solution, one statement per table and kind of change.

- A pledge or need that another transaction holds is skipped, not waited for (SKIP LOCKED):
  its rows are left as they are and counted in ``skipped_busy``; the next run takes them. So a
  run's time depends on the size of the world, not on the traffic beside it.
- A row that no longer fits because its pledge or need changed since the snapshot is trimmed
  or dropped and counted as stale (``skipped_stale``); one trimmed only by rounding between
  currencies is counted in ``trimmed``; a row of less than MATCHING_MIN_UNITS is never written
  (``dropped_small``).
- The run's figures (``funded``, ``objective``) describe the proposals held after the write.

Applying the same solution twice changes nothing the second time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from aidmatch import matching
from aidmatch.events import EventType
from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import Row
from apps.core.dates import local_date
from apps.events.payloads import proposal_batches
from apps.events.services import copy_events
from apps.matching.locks import (
    live_proposals,
    lock_allocation_ids,
    lock_need_rows,
    lock_pledge_rows,
)
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.allocations import refresh_need_status, refresh_pledge_status
from apps.matching.services.bulk import array_literal, bulk_insert, bulk_update, uuid4_texts
from apps.matching.services.snapshot import World
from apps.needs.models import Need
from apps.pledges.models import Pledge

ZERO = Decimal(0)
A = AllocationStatus
RELEASE_REASON = "released by matching: no longer in the best allocation"


@dataclass
class Outcome:
    created: int = 0
    resized: int = 0
    released: int = 0
    kept: int = 0
    skipped_stale: int = 0
    skipped_busy: int = 0  # rows of pledges or needs another transaction held: left as they are
    trimmed: int = 0  # rows written smaller than the solver's (rounding between currencies)
    dropped_small: int = 0  # solver rows under MATCHING_MIN_UNITS: not written
    seconds: dict = field(default_factory=dict)  # lock, plan, sql, figures
    funded: int = 0  # pool minor units of the proposals held after the write
    objective: int = 0  # the solver's objective of the proposals held after the write
    auto_commit: list = field(default_factory=list)  # allocation ids of auto-commit pledges

    def as_dict(self) -> dict:
        """The counts a MatchRun has columns for."""
        return {k: getattr(self, k) for k in ("created", "resized", "released", "kept")} | {
            "skipped_stale": self.skipped_stale
        }

    def stats(self) -> dict:
        counts = {k: getattr(self, k) for k in ("skipped_busy", "trimmed", "dropped_small")}
        return counts | {f"seconds_write_{k}": round(v, 4) for k, v in self.seconds.items()}


class Target(NamedTuple):  # a tuple: made once per row of a 100k run
    amount: Decimal  # pledge currency
    need_amount: Decimal  # need currency
    explanation: dict


def _targets(
    world: World, rows: list[Row], run: MatchRun, outcome: Outcome
) -> dict[tuple[str, str], Target]:
    """Rows (pool minor units) as money in the pledge's and the need's currency.

    A kept proposal keeps its amounts to the cent (a change of less than MATCHING_MIN_UNITS
    is rounding, not a better use); a new row of less than that is dropped. New money of a
    pledge is converted on the running total of its rows (so rounding never leaves dust
    behind), and a pledge placed in full gives exactly what it has left.
    """
    pool, targets, dust = world.pool, {}, settings.MATCHING_MIN_UNITS
    declined = {p.id: p.declined for p in world.pledges if p.declined}
    capacity = {p.id: p.capacity for p in world.pledges}
    by_pledge: dict[str, list[Row]] = {}
    need_rank = {n.id: n.rank for n in world.needs}
    # Each pledge's rows in the world's stable order (not by random ids), so that the cent a
    # conversion leaves over always lands on the same row.
    for row in sorted(rows, key=lambda r: need_rank.get(r.need, -1)):
        if row.need in declined.get(row.pledge, ()):
            continue  # the donor said no to this need (the solver knows; this holds regardless)
        by_pledge.setdefault(row.pledge, []).append(row)
    for pid, pledge_rows in by_pledge.items():
        pc = world.pledge_currency[pid]
        budget = world.pledge_remaining[pid]
        fresh, units_kept = [], 0
        for row in pledge_rows:
            current = world.current.get((pid, row.need))
            if current is not None and abs(pool.to_pool(current.amount, pc) - row.amount) < dust:
                targets[pid, row.need] = Target(current.amount, current.need_amount, {})
                budget -= current.amount
                units_kept += row.amount
            elif row.amount >= dust:  # a new row of rounding dust is not worth a proposal
                fresh.append(row)
            else:
                outcome.dropped_small += 1
        placed_units = units_kept + sum(r.amount for r in fresh)
        cumulative, given = 0, ZERO
        for i, row in enumerate(fresh):
            cumulative += row.amount
            if i == len(fresh) - 1 and placed_units >= capacity[pid]:
                total = budget  # the whole pledge is placed: the last row takes what is left
            else:
                total = min(pool.from_pool(cumulative, pc), budget)
            amount, given = total - given, total
            nc = world.need_currency[row.need]
            need_amount = pool.convert(amount, pc, nc)
            if amount > 0 and need_amount > 0:
                # the solver's explanation, shared (the run and pool are added as it is written)
                targets[pid, row.need] = Target(amount, need_amount, row.explanation)
            else:
                outcome.dropped_small += 1
    return targets


def _changed_pairs(world: World, targets: dict) -> set[tuple[str, str]]:
    """The (pledge, need) pairs whose proposal the solution creates, resizes or may release,
    as the snapshot saw them; the write re-checks each under its locks."""
    changed = {
        key
        for key, target in targets.items()
        if (current := world.current.get(key)) is None
        or (current.amount, current.need_amount) != (target.amount, target.need_amount)
    }
    return changed | (set(world.current) - set(targets))


def _rate_fields(world: World, pid: str, nid: str, cache: dict) -> tuple:
    """The rate an allocation records: the pair's rate on the run's day, and where it came
    from (rate, rate_source, rate_date); once per pair of currencies."""
    pair = world.pledge_currency[pid], world.need_currency[nid]
    if pair not in cache:
        cache[pair] = _pair_rate(world, *pair)
    return cache[pair]


def _pair_rate(world: World, pc: str, nc: str) -> tuple:
    if pc == nc:
        return Decimal(1), "", None
    parts = [f"{c}: {world.pool.sources[c][0]}" for c in (pc, nc) if c != world.pool.currency]
    source = f"via {world.pool.currency} ({'; '.join(parts)})"[:100]
    return world.pool.cross_rate(pc, nc), source, world.today


def _figures(world: World, held: dict[tuple[str, str], Decimal], outcome: Outcome) -> None:
    """Funded units and objective of the proposals held after the write (those of the
    world's pledges and needs), in pool minor units as the solver counts them."""
    pool, rows = world.pool, []
    for (pid, nid), amount in held.items():
        pc = world.pledge_currency.get(pid)
        if pc is not None and nid in world.need_currency:
            units = pool.to_pool(amount, pc)
            if units > 0:
                rows.append((pid, nid, units))
    figures = matching.evaluate(
        rows, world.pledges, world.needs, world.proposals, today=world.today
    )
    outcome.funded, outcome.objective = figures["funded"], figures["objective"]


@transaction.atomic
def apply_solution(*, world: World, rows: list[Row], run: MatchRun) -> Outcome:
    outcome = Outcome()
    clock = time.perf_counter()
    targets = _targets(world, rows, run, outcome)
    now = timezone.now()
    held = {key: c.amount for key, c in world.current.items()}  # proposals after the write
    changed = _changed_pairs(world, targets)
    if not changed:
        outcome.kept = len(targets)  # no write, so no lock: a quiet sweep costs one read
        _figures(world, held, outcome)
        return outcome

    # Lock the pledges whose proposals change, then every need their proposals touch, each
    # table in one statement; what another transaction holds is skipped.
    changed_pledges = {p for p, _ in changed}
    outcome.seconds["plan"] = time.perf_counter() - clock
    clock = time.perf_counter()
    pledges = lock_pledge_rows(changed_pledges)
    live = {(p, n): (pk, amount, na) for pk, p, n, amount, na in live_proposals(pledges)}
    wanted_needs = {n for p, n in changed if p in pledges} | {n for _, n in live}
    needs = lock_need_rows(wanted_needs)
    locked_allocations = lock_allocation_ids(pk for pk, _, _ in live.values())
    outcome.seconds["lock"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # A pledge is left whole to the next run when it, a need of its proposals or of its new
    # rows, or one of its proposals is held by another transaction.
    busy = changed_pledges - set(pledges)
    busy |= {p for p, n in changed if p in pledges and n not in needs}
    busy |= {p for (p, n), (pk, _, _) in live.items() if n not in needs}
    busy |= {p for (p, _), (pk, _, _) in live.items() if pk not in locked_allocations}
    outcome.skipped_busy = sum(1 for p, _ in changed if p in busy)
    for pid in busy:
        pledges.pop(pid, None)
    current = {key: value for key, value in live.items() if key[0] in pledges}

    org_today: dict[str, object] = {}
    for n in needs.values():
        if n.organization_status == OrganizationStatus.VERIFIED and n.time_zone not in org_today:
            org_today[n.time_zone] = local_date(n.time_zone, now=now)

    def pledge_ok(pid: str) -> bool:
        p = pledges.get(pid)
        return (
            p is not None
            and p.status in PLEDGE_LIVE
            and (p.expires_at is None or p.expires_at > now)
        )

    def need_ok(nid: str) -> bool:
        n = needs.get(nid)
        return (
            n is not None
            and n.status in NEED_FUNDABLE
            and n.organization_status == OrganizationStatus.VERIFIED
            and n.deadline >= org_today[n.time_zone]
        )

    def unchanged(pid: str, nid: str) -> bool:
        """The pledge and need have what the snapshot saw (a trim is then only rounding)."""
        p, n = pledges[pid], needs[nid]
        return p.amount - p.committed_amount == world.pledge_remaining.get(
            pid
        ) and n.amount - n.committed_amount == world.need_remaining.get(nid)

    touched_pledges: set[str] = set()
    touched_needs: set[str] = set()
    rate_cache: dict = {}
    extra = json.dumps({"run": str(run.pk), "pool_currency": world.pool.currency})[1:]

    explained: dict[int, tuple[dict, str]] = {}

    def explain(target: Target) -> str:
        """The row's explanation with the run and the pool currency, as JSON (kept as text
        until it is written: a few hundred bytes a row rather than a dict). The solver shares
        one explanation between many rows: each is serialized once."""
        key = id(target.explanation)
        if (hit := explained.get(key)) is not None and hit[0] is target.explanation:
            return hit[1]
        e = json.dumps(target.explanation, cls=DjangoJSONEncoder, separators=(",", ":"))
        text = e[:-1] + "," + extra if len(e) > 2 else "{" + extra
        explained[key] = (target.explanation, text)  # the dict kept, so its id is not reused
        return text

    released: list[tuple] = []
    resized: dict[str, tuple] = {}  # allocation id → its new columns
    created: list[tuple] = []

    def move(pid: str, nid: str, amount: Decimal, need_amount: Decimal) -> None:
        """Add (or, negative, take back) proposed money on a pledge and a need."""
        pledges[pid].proposed_amount += amount
        needs[nid].proposed_amount += need_amount
        touched_pledges.add(pid)
        touched_needs.add(nid)

    def resize(key, amount: Decimal, need_amount: Decimal, target: Target) -> None:
        pk, have, have_need = current[key]
        move(*key, amount - have, need_amount - have_need)
        current[key] = (pk, amount, need_amount)
        held[key] = amount
        # the whole proposal at today's rate, the one both amounts were converted at
        resized[pk] = (amount, need_amount, explain(target), *_rate_fields(world, *key, rate_cache))
        outcome.resized += 1

    # 1. Release proposals the solution no longer wants (or that are no longer eligible), and
    #    shrink those it wants smaller: this frees capacity before anything grows.
    grow: list[tuple[tuple[str, str], Target]] = []
    considered = {(p.pledge, p.need) for p in world.proposals}
    for key, (pk, amount, need_amount) in sorted(current.items()):
        target = targets.get(key)
        pid, nid = key
        eligible = pledge_ok(pid) and need_ok(nid)
        if target is None and eligible and key not in considered:
            outcome.kept += 1  # too small for the pool, or newer than the snapshot: left alone
            continue
        if target is None or not eligible:
            move(pid, nid, -amount, -need_amount)
            released.append((pk,))
            held.pop(key, None)
            outcome.released += 1
        elif target.amount < amount:
            resize(key, target.amount, target.need_amount, target)
        elif target.amount == amount:
            outcome.kept += 1
    # In the world's stable order (creation, not random ids): where rounding leaves a need a
    # cent short, the same row is trimmed whatever the ids are.
    pledge_rank = {p.id: p.rank for p in world.pledges}
    need_rank = {n.id: n.rank for n in world.needs}
    for key, target in sorted(
        targets.items(), key=lambda kv: (pledge_rank[kv[0][0]], need_rank[kv[0][1]])
    ):
        if key[0] not in pledges:
            continue  # unchanged in the snapshot, or busy: nothing to write
        if key not in current or target.amount > current[key][1]:
            grow.append((key, target))

    # 2. Grow and create, within what each locked pledge and need still has.
    dust = settings.MATCHING_MIN_UNITS
    new_ids = iter(uuid4_texts(len(grow)))
    for key, target in grow:
        pid, nid = key
        if not (pledge_ok(pid) and need_ok(nid)):
            outcome.skipped_stale += 1
            continue
        pledge, need = pledges[pid], needs[nid]
        _, have_amount, have_need = current.get(key, (None, ZERO, ZERO))
        pc, nc = world.pledge_currency[pid], world.need_currency[nid]
        room_p = pledge.amount - pledge.committed_amount - pledge.proposed_amount
        room_n = need.amount - need.committed_amount - need.proposed_amount
        delta = target.amount - have_amount
        if delta > room_p or target.need_amount - have_need > room_n:
            if unchanged(pid, nid):
                outcome.trimmed += 1
            else:
                outcome.skipped_stale += 1
            delta = min(delta, room_p, world.pool.convert(room_n, nc, pc))
            if delta <= 0:
                continue
        amount = have_amount + delta
        # the target's own conversion when nothing was trimmed (the same amount, converted once)
        converted = (
            target.need_amount if amount == target.amount else world.pool.convert(amount, pc, nc)
        )
        need_amount = min(converted, have_need + room_n)
        if need_amount <= have_need:
            continue
        if key in current:
            resize(key, amount, need_amount, target)
            allocation_id = current[key][0]
        else:
            if world.pool.to_pool(amount, pc) < dust:  # trimmed down to dust
                outcome.dropped_small += 1
                continue
            move(pid, nid, amount, need_amount)
            allocation_id = next(new_ids)
            rate, rate_source, rate_date = _rate_fields(world, pid, nid, rate_cache)
            created.append(
                (
                    allocation_id,
                    pid,
                    nid,
                    amount,
                    need_amount,
                    rate,
                    rate_source,
                    rate_date,
                    explain(target),
                    now + pledge.commit_window,
                )
            )
            held[key] = amount
            outcome.created += 1
        if pledge.auto_commit:
            outcome.auto_commit.append(uuid.UUID(allocation_id))

    outcome.kept += sum(1 for pid, _ in targets if pid not in pledges and pid not in busy)

    # 3. Write: one statement per table and kind of change.
    outcome.seconds["plan"] += time.perf_counter() - clock
    clock = time.perf_counter()
    released_rows = _release(released, now)
    bulk_update(
        Allocation,
        RESIZE_COLUMNS,
        [(pk, *columns) for pk, columns in resized.items()],
        match_run_id=run.pk,
        updated_at=now,
    )
    # what every new row holds alike (written with it, and given to its event)
    constants = {
        "status": A.PROPOSED.value,
        "disbursed_amount": ZERO,
        "close_reason": "",
        "match_run_id": run.pk,
        "proposed_at": now,
        "updated_at": now,
    }
    bulk_insert(Allocation, INSERT_COLUMNS, created, **constants)
    outcome.seconds["sql"] = time.perf_counter() - clock
    clock = time.perf_counter()
    _events(released_rows, created, constants, now=now)
    outcome.seconds["events"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for model, rows, touched, refresh in (
        (Pledge, pledges, touched_pledges, refresh_pledge_status),
        (Need, needs, touched_needs, refresh_need_status),
    ):
        for key in touched:
            refresh(rows[key])
        bulk_update(
            model,
            TOTAL_COLUMNS,
            [(k, rows[k].proposed_amount, rows[k].status) for k in sorted(touched)],
            updated_at=now,
        )
    outcome.seconds["sql"] += time.perf_counter() - clock
    clock = time.perf_counter()
    _figures(world, held, outcome)
    outcome.seconds["figures"] = time.perf_counter() - clock
    return outcome


RELEASED_RETURNING = (
    "id",
    "pledge_id",
    "need_id",
    "amount",
    "need_amount",
    "rate",
    "rate_source",
    "rate_date",
    "explanation",
    "commit_deadline",
    "proposed_at",
    "match_run_id",
    "disbursed_amount",
)


def _release(released: list[tuple], now) -> list[dict]:
    """Release proposals in one statement; their rows as they now are (for their events)."""
    if not released:
        return []
    changes = {
        "status": A.RELEASED.value,
        "closed_at": now,
        "updated_at": now,
        "close_reason": RELEASE_REASON,
    }
    ids = [pk for (pk,) in released]
    if connection.vendor != "postgresql":
        bulk_update(Allocation, {}, released, **changes)
        rows = Allocation.objects.filter(pk__in=ids).values(*RELEASED_RETURNING)
        return [{**row, **changes} for row in rows]
    table = connection.ops.quote_name(Allocation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, closed_at = %s, updated_at = %s, "  # noqa: S608
            f"close_reason = %s WHERE id = ANY(%s::uuid[]) "
            f"RETURNING {', '.join(RELEASED_RETURNING)}",
            [*changes.values(), array_literal(ids, "uuid")],
        )
        return [{**dict(zip(RELEASED_RETURNING, r, strict=True)), **changes} for r in cursor]


def _events(released: list[dict], created: list[tuple], constants: dict, *, now) -> None:
    """``allocation.released`` for the proposals let go and ``allocation.proposed`` for every
    new row, in one statement whatever their number: one outbox row per 500 proposals
    (``apps.events.payloads.proposal_batches``) holding their values; the relay makes each
    proposal's event, renders its payloads and positions it. Rendering, encrypting and
    indexing 10,000 events would hold the run's row locks seconds longer (bench/README.md,
    "A run's events in batches")."""
    rows = []
    if released:
        names = [*RELEASED_RETURNING, "status", "closed_at", "updated_at", "close_reason"]
        values = [tuple(row[name] for name in names) for row in released]
        rows += proposal_batches(
            EventType.ALLOCATION_RELEASED, names, values, constants={}, occurred_at=now
        )
    if created:
        rows += proposal_batches(
            EventType.ALLOCATION_PROPOSED,
            INSERT_COLUMNS,
            created,
            constants=constants,
            occurred_at=now,
        )
    copy_events(rows, len(rows))


TOTAL_COLUMNS = {"proposed_amount": "numeric", "status": "text"}
RESIZE_COLUMNS = {
    "amount": "numeric",
    "need_amount": "numeric",
    "explanation": "jsonb",
    "rate": "numeric",
    "rate_source": "text",
    "rate_date": "date",
}
INSERT_COLUMNS = {
    "id": "uuid",
    "pledge_id": "uuid",
    "need_id": "uuid",
    "amount": "numeric",
    "need_amount": "numeric",
    "rate": "numeric",
    "rate_source": "text",
    "rate_date": "date",
    "explanation": "jsonb",
    "commit_deadline": "timestamptz",
}


def admitted_by_counts(rows: list[Row]) -> dict[str, int]:
    return dict(Counter(r.explanation.get("admitted_by", "?") for r in rows))
