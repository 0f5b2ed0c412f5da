"""Event payloads: each resource as each audience may see it, rendered by the API's own
serializers (one renderer per resource type), so the visibility tiers and pseudonyms of the
API are the payloads' too. Nothing here decides what an audience sees: the serializers do.

Who receives what (``Audience``):
- a need: its organization and verifiers (the full view);
- a pledge: its donor and verifiers;
- a recurring pledge (``pledge_schedule.*``): its donor and verifiers;
- an allocation: the pledge's donor (the donor's view: itself by name), the need's
  organization and verifiers (the others' view: an anonymous pledge stays anonymous), each
  with the organization's public name (its pseudonym when sensitive);
- a tranche: its donor, the receiving organization and verifiers;
- a delivery report: the organization and verifiers (the insider view, evidence included),
  and one event per donor whose money reached the need (the donors' view: no narrative for a
  sensitive organization);
- an organization's status: the organization and verifiers.

Renderers read only what the write path already loaded (the callers pass the locked rows and
give related rows they hold), so writing an event costs its one INSERT.

``<resource>_event`` builds the event of one change with its routing (who may receive it);
``record`` writes all the events of a transaction in one statement.
"""

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.base import ModelState
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from aidmatch.events import Audience, EventType, resource_of
from apps.core.serializers import SLOW, LeanOutputMixin, represent
from apps.events.models import Event
from apps.events.services import event_row, new_event, record_events
from apps.matching.locks import lock_need_rows, lock_pledge_rows, set_prefetched

ORG, DONOR, VERIFIER = Audience.ORGANIZATION, Audience.DONOR, Audience.VERIFIER
OUTBOX = {"outbox": True}


def keep(obj, **related) -> None:
    """Give ``obj`` related rows already in hand, so serializers read them without a query."""
    for name, value in related.items():
        if value is not None:
            obj._meta.get_field(name).set_cached_value(obj, value)


def record(*events) -> int:
    """Write the events of one transaction (events or lists of them, None skipped), in the
    order given, in one statement."""
    flat = []
    for item in events:
        if item is None:
            continue
        flat.extend(item if isinstance(item, list | tuple) else [item])
    return record_events(flat)


def allocation_events(event_type: EventType, allocations, pledges: dict, needs: dict) -> list:
    return [
        allocation_event(event_type, a, pledge=pledges.get(a.pledge_id), need=needs.get(a.need_id))
        for a in allocations
    ]


def creator_view(data: dict, obj) -> dict:
    """The payload for the side that created the object (a need's organization, a pledge's or
    a tranche's donor): with the partner's own ``metadata`` and ``external_reference``, as the
    API shows them to that side only (``apps.core.partner``); every other audience's payload
    leaves them out, as the API does."""
    return {**data, "metadata": obj.metadata, "external_reference": obj.external_reference}


# Needs -------------------------------------------------------------------------------------


def need_payloads(need, *, organization=None) -> dict:
    from apps.needs.api.serializers import NeedFullSerializer

    keep(need, organization=organization)
    full = represent(NeedFullSerializer, need, OUTBOX)
    return {ORG: creator_view(full, need), VERIFIER: full}


def need_event(event_type: EventType, need, *, organization=None):
    return new_event(
        event_type,
        resource_id=need.pk,
        payloads=need_payloads(need, organization=organization),
        organization_id=need.organization_id,
    )


# Pledges -----------------------------------------------------------------------------------


def pledge_payloads(pledge) -> dict:
    from apps.pledges.api.serializers import PledgeSerializer

    data = represent(PledgeSerializer, pledge, OUTBOX)
    return {DONOR: creator_view(data, pledge), VERIFIER: data}


def pledge_routing(pledge) -> dict:
    """``record_event``'s arguments for a pledge (for a caller that writes it itself)."""
    return {
        "resource_id": pledge.pk,
        "payloads": pledge_payloads(pledge),
        "donor_id": pledge.donor_id,
        "donor_organization_id": pledge.donor_organization_id,
    }


def pledge_event(event_type: EventType, pledge):
    return new_event(event_type, **pledge_routing(pledge))


# Recurring pledges ---------------------------------------------------------------------------


def pledge_schedule_routing(schedule) -> dict:
    """``record_event``'s arguments for a recurring pledge: its donor and verifiers see it as
    the API shows it."""
    from apps.pledges.api.schedule_serializers import PledgeScheduleSerializer

    data = represent(PledgeScheduleSerializer, schedule, OUTBOX)
    return {
        "resource_id": schedule.pk,
        "payloads": {DONOR: data, VERIFIER: data},
        "donor_id": schedule.donor_id,
        "donor_organization_id": schedule.donor_organization_id,
    }


def pledge_schedule_event(event_type: EventType, schedule):
    return new_event(event_type, **pledge_schedule_routing(schedule))


# Allocations -------------------------------------------------------------------------------


def allocation_payloads(allocation, *, pledge=None, need=None) -> dict:
    from apps.matching.api.serializers import AllocationSerializer

    keep(allocation, pledge=pledge, need=need)
    donor_view = represent(
        AllocationSerializer, allocation, {**OUTBOX, "viewer_id": allocation.pledge.donor_id}
    )
    if allocation.pledge.anonymous:
        others = represent(AllocationSerializer, allocation, {**OUTBOX, "viewer_id": None})
    else:
        others = donor_view  # the viewer only matters to an anonymous pledge
    return {DONOR: donor_view, ORG: others, VERIFIER: others}


def allocation_event(event_type: EventType, allocation, *, pledge=None, need=None):
    payloads = allocation_payloads(allocation, pledge=pledge, need=need)
    pledge, need = allocation.pledge, allocation.need
    return new_event(
        event_type,
        resource_id=allocation.pk,
        payloads=payloads,
        organization_id=need.organization_id,
        donor_id=pledge.donor_id,
        donor_organization_id=pledge.donor_organization_id,
    )


# What ProposalPayloads keeps for reuse is dropped past these sizes (entries): a field's text
# per distinct input, and the pledge and need objects it shows.
CACHE_LIMIT = 100_000
OBJECT_LIMIT = 20_000


class ProposalPayloads:
    """The payloads of a matching run's ``allocation.proposed``/``allocation.released`` events,
    rendered by the relay (``render_pending``) a batch at a time.

    The API's ``AllocationSerializer`` (one instance per run) decides every field: its own
    field objects show unsaved rows built from what the run locked (``LockedPledge`` and
    ``LockedNeed``, read again by the relay: the donor's name, the organization's name,
    pseudonym and sensitivity), so
    the visibility rules (the donor's name or "anonymous donor", the organization's public
    name) are the serializer's. What makes it cheap: a field's ``"name": value`` JSON text is
    computed once per distinct input (a run's rows share their pledge, need, currencies, dates,
    rates and explanations), the donor/organization fields once per pledge, need and viewer; a
    row's view is the join of its fields' texts in name order (``json.dumps(sort_keys=True)``'s
    text); the pledge/need/organization/donor objects are built once per id without
    ``Model.__init__``; each view is stored once for the audiences it is shown to
    (``EventPayloadsField``'s form) (bench/README.md, "Cheaper events in bulk")."""

    def __init__(self, pledges: dict, needs: dict):
        from apps.matching.api.serializers import AllocationSerializer

        self._serializer = AllocationSerializer(context={**OUTBOX, "viewer_id": None})
        # A field that reads a plain attribute path (LeanOutputMixin's plan) is read with one
        # attrgetter along it (DRF's get_attribute only adds error mapping and calls callables:
        # an error or a callable sends the field to DRF); a field with its own get_attribute
        # (money, methods) is asked. In the order of their names, each with its JSON key's text:
        # the payload's JSON has its keys sorted.
        self._readers = sorted(
            (name, f"{_json_text(name)}: ", field, attrgetter(".".join(path)) if path else None)
            for name, path, field in LeanOutputMixin._output_plan(self._serializer)
        )
        self._locked_pledges, self._locked_needs = pledges, needs
        self._pledges: dict = {}
        self._needs: dict = {}
        self._explanations: dict = {}
        self._shown: dict = {}
        self._currencies: dict = {}
        self._defaults: dict = {}
        # Before the COPY starts (no query may run while it reads the rows): the currencies.
        for row in (*pledges.values(), *needs.values()):
            self._currency(row.currency_id)

    def _forget(self) -> None:
        """Drop what was kept for reuse, so a 100k run's memory stays bounded (a key of the
        shown texts may be an explanation's ``id()``: the explanations go with them)."""
        for kept in (self._shown, self._pledges, self._needs, self._explanations):
            kept.clear()

    def _currency(self, code: str):
        currency = self._currencies.get(code)
        if currency is None:
            from apps.core.money import minor_unit_of
            from apps.reference.models import Currency

            currency = Currency(code=code, minor_unit=minor_unit_of(code))
            self._currencies[code] = currency
        return currency

    def _instance(self, model, **values):
        """``model(**values)`` (``values`` by attribute name) for a row shown, not saved: the
        other fields' defaults are copied from one instance built per model, as ``__init__``
        would set them field by field (a third of the rendering's time, a pledge having many
        fields)."""
        defaults = self._defaults.get(model)
        if defaults is None:
            defaults = self._defaults[model] = {
                name: value for name, value in vars(model()).items() if name != "_state"
            }
        obj = model.__new__(model)
        obj.__dict__.update(defaults)
        obj.__dict__.update(values)
        obj._state = ModelState()
        return obj

    def _pledge(self, pid: str):
        pledge = self._pledges.get(pid)
        if pledge is None:
            from apps.accounts.models import User
            from apps.pledges.models import Pledge

            row = self._locked_pledges[pid]
            pledge = self._instance(
                Pledge,
                id=pid,
                donor_id=row.donor_id,
                donor_organization_id=row.donor_organization_id,
                anonymous=row.anonymous,
                currency_id=row.currency_id,
            )
            donor = None
            if row.donor_id is not None:
                donor = self._instance(User, id=row.donor_id, full_name=row.donor_full_name or "")
            keep(pledge, currency=self._currency(row.currency_id))
            pledge._meta.get_field("donor").set_cached_value(pledge, donor)
            self._pledges[pid] = pledge
        return pledge

    def _need(self, nid: str):
        need = self._needs.get(nid)
        if need is None:
            from apps.needs.models import Need
            from apps.organizations.models import Organization

            row = self._locked_needs[nid]
            organization = self._instance(
                Organization,
                id=row.organization_id,
                name=row.organization_name,
                pseudonym=row.organization_pseudonym,
                sensitive=row.organization_sensitive,
            )
            need = self._instance(
                Need, id=nid, organization_id=row.organization_id, currency_id=row.currency_id
            )
            keep(need, organization=organization, currency=self._currency(row.currency_id))
            self._needs[nid] = need
        return need

    def _explanation(self, explanation):
        if not isinstance(explanation, str):
            return explanation
        parsed = self._explanations.get(explanation)
        if parsed is None:
            parsed = self._explanations[explanation] = json.loads(explanation)
        return parsed

    def _show(self, allocation, viewer) -> str:
        """The JSON text of ``AllocationSerializer(allocation).data`` (as ``_json_text`` writes
        it: keys sorted), made of each field's ``"name": value`` text, computed once per
        distinct input of the field and reused for every row that shows the same input."""
        shown, out = self._shown, []
        for name, prefix, field, read in self._readers:
            attribute = SLOW
            if read is not None:
                try:
                    attribute = read(allocation)
                except Exception:  # DRF maps it (None, a default or a skip)
                    attribute = SLOW
                else:
                    if callable(attribute):
                        attribute = SLOW
            if attribute is SLOW:
                try:
                    attribute = field.get_attribute(allocation)
                except SkipField:
                    continue
            if attribute is allocation:  # a method field: by the pledge, need and viewer
                key = (name, allocation.pledge_id, allocation.need_id, viewer)
            elif isinstance(attribute, dict | list):
                key = (name, id(attribute))  # the run's shared explanations, kept alive
            elif isinstance(attribute, Decimal | tuple):
                key = (name, repr(attribute))  # 1.5 and 1.50 are equal, not alike
            else:
                key = (name, type(attribute), attribute)  # True == 1, but shows otherwise
            text = shown.get(key)
            if text is None:
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
                value = None if check is None else field.to_representation(attribute)
                text = shown[key] = prefix + _json_text(value)
            out.append(text)
        return "{" + ", ".join(out) + "}"

    def text(self, values: dict) -> str:
        """The payloads' JSON text (``EventPayloadsField``'s form) of one proposal's event."""
        if len(self._shown) > CACHE_LIMIT or len(self._pledges) + len(self._needs) > OBJECT_LIMIT:
            self._forget()
        pledge, need = self._pledge(str(values["pledge_id"])), self._need(str(values["need_id"]))
        # The row's columns as attributes (what the serializer's fields read), without the
        # cost of a model instance per row.
        allocation = _Row(values)
        allocation.explanation = self._explanation(values["explanation"])
        allocation.pledge, allocation.need = pledge, need
        allocation.pk = values["id"]
        context = self._serializer._context
        context["viewer_id"] = pledge.donor_id
        donor_view = others = self._show(allocation, pledge.donor_id)
        if pledge.anonymous:  # the viewer only matters to an anonymous pledge
            context["viewer_id"] = None
            others = self._show(allocation, None)
        # As EventPayloadsField writes {"donor": …, "organization": …, "verifier": …}: an
        # audience shown an earlier audience's object by that audience's name.
        if others is donor_view:
            return f'{{"{DONOR}": {donor_view}, "{ORG}": "{DONOR}", "{VERIFIER}": "{DONOR}"}}'
        return f'{{"{DONOR}": {donor_view}, "{ORG}": {others}, "{VERIFIER}": "{ORG}"}}'


BATCH_ROWS = 500  # a matching run's proposals per outbox row (``proposal_batches``)
AUDIENCES = ",".join(sorted((DONOR, ORG, VERIFIER)))  # who receives a proposal's event


def proposal_batches(
    event_type: EventType, columns, rows, *, constants: dict, occurred_at
) -> list[tuple]:
    """A matching run's proposals as outbox rows for ``copy_events``, up to BATCH_ROWS
    proposals each: ``rows`` are tuples in the order of ``columns`` (the values their
    allocation rows were written with; ``constants`` the same on all), ``explanation`` as JSON
    text or an object. A row's ``pending`` holds the values of its proposals (each as its own
    text, each distinct explanation once, as an object); it has no payloads and no routing of
    its own.

    The relay turns each such row into one event per proposal, rendered and routed, when it
    gives them their positions (``render_pending``), in the row's place among the events: so a
    run writes one small row per 500 proposals in its transaction rather than 500 rows with 9
    index entries each (bench/README.md, "A run's events in batches")."""
    names = list(columns)
    at = names.index("explanation")
    out = []
    for start in range(0, len(rows), BATCH_ROWS):
        texts: dict[str, int] = {}  # each distinct explanation's text → its number
        chunk = []
        for row in rows[start : start + BATCH_ROWS]:
            row = list(row)
            explanation = row[at]
            text = explanation if isinstance(explanation, str) else _json_text(explanation)
            row[at] = texts.setdefault(text, len(texts))
            chunk.append(row)
        head = _PENDING.encode({"columns": names, "constants": constants})
        # the explanations are JSON already: put in as they are, not encoded again as strings
        pending = (
            f'{{"batch": {head[:-1]},"explanations":[{",".join(texts)}],'
            f'"rows":{_PENDING.encode(chunk)}}}}}'
        )
        out.append(
            event_row(
                event_type,
                resource_id="",
                payloads_text=None,
                audiences=(),
                occurred_at=occurred_at,
                pending=pending,
                batch_size=len(chunk),
            )
        )
    return out


# str() of a Decimal, a UUID, a date or a moment is the text its field reads back (an
# explanation read from the database stays an object, one given as JSON text a string).
_PENDING = json.JSONEncoder(default=str, separators=(",", ":"))


def _read_pending(pending: dict) -> dict:
    from apps.matching.models import Allocation

    values = {}
    for name, value in pending.items():
        if value is not None and name != "explanation":
            field = Allocation._meta.get_field(name)
            if isinstance(field, models.DateTimeField):
                value = datetime.fromisoformat(value)
            elif isinstance(field, models.DateField):
                value = date.fromisoformat(value)
            elif isinstance(field, models.DecimalField):
                value = Decimal(value)
        values[name] = value
    return values


def is_batch(event) -> bool:
    """Whether an outbox row holds a batch of a matching run's proposals (``proposal_batches``)."""
    return event.pending is not None and "batch" in event.pending


def _batch_values(batch: dict):
    """Each proposal's values in a batch (``proposal_batches``), as ``_read_pending`` gives."""
    names, constants, texts = batch["columns"], batch["constants"], batch["explanations"]
    at = names.index("explanation")
    for row in batch["rows"]:
        values = dict(zip(names, row, strict=True))
        values["explanation"] = texts[row[at]]
        values.update(constants)
        yield _read_pending(values)


def render_pending(events: list) -> list:
    """``events`` (outbox rows in order) as the events they stand for, payloads rendered:
    a batch of a matching run's proposals (``proposal_batches``) is replaced by one new,
    unsaved event per proposal, routed by its pledge and need, in the batch's place; an event
    written with its values in ``pending`` (by an earlier version) is rendered in place. The
    pledges' and needs' rows are read in one statement each; each rendered event's JSON text
    is kept in ``_payloads_text`` for the relay's write, and ``pending`` emptied."""
    items: list[tuple[Event, dict | None]] = []
    for event in events:
        if event.pending is None:
            items.append((event, None))
        elif is_batch(event):
            for values in _batch_values(event.pending["batch"]):
                new = Event(
                    uid=uuid.uuid4(),
                    type=event.type,
                    resource_type=resource_of(event.type),
                    resource_id=str(values["id"]),
                    occurred_at=event.occurred_at,
                    audiences=AUDIENCES,
                )
                items.append((new, values))
        else:
            items.append((event, _read_pending(event.pending)))
    shown = [values for _, values in items if values is not None]
    pledges = lock_pledge_rows({str(v["pledge_id"]) for v in shown}, lock=False)
    needs = lock_need_rows({str(v["need_id"]) for v in shown}, lock=False)
    render = ProposalPayloads(pledges, needs)
    field = Event._meta.get_field("payloads")
    for event, values in items:
        if values is None:
            continue
        event._payloads_text = render.text(values)
        event.payloads = field.resolved(json.loads(event._payloads_text))
        event.pending = None
        if event.pk is None:  # routed as every event of a proposal is
            pledge, need = pledges[str(values["pledge_id"])], needs[str(values["need_id"])]
            event.organization_id = _uuid(need.organization_id)
            event.donor_id = _uuid(pledge.donor_id)
            event.donor_organization_id = _uuid(pledge.donor_organization_id)
    return [event for event, _ in items]


def _uuid(value) -> uuid.UUID | None:
    """An id as the model's field holds it (the locked rows give some as text)."""
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(value)


class _Row:
    """A new allocation's columns as attributes."""

    def __init__(self, values: dict):
        self.committed_at = self.closed_at = None
        self.__dict__.update(values)


_ENCODER = DjangoJSONEncoder(sort_keys=True)  # what json.dumps(…, sort_keys=True, cls=…) builds


def _json_text(data) -> str:
    return _ENCODER.encode(data)


# Tranches ----------------------------------------------------------------------------------


def disbursement_payloads(disbursement, *, lines=None, allocations=None, needs=None) -> dict:
    from apps.disbursements.api.serializers import DisbursementSerializer

    if lines is not None:
        for line in lines:
            allocation = (allocations or {}).get(line.allocation_id)
            if allocation is not None:
                keep(allocation, need=(needs or {}).get(allocation.need_id))
                keep(line, allocation=allocation, disbursement=disbursement)
        set_prefetched(disbursement, "lines", lines)
    data = represent(DisbursementSerializer, disbursement, OUTBOX)
    return {DONOR: creator_view(data, disbursement), ORG: data, VERIFIER: data}


def disbursement_event(event_type: EventType, disbursement, **kwargs):
    return new_event(
        event_type,
        resource_id=disbursement.pk,
        payloads=disbursement_payloads(disbursement, **kwargs),
        organization_id=disbursement.organization_id,
        donor_id=disbursement.donor_id,
        donor_organization_id=disbursement.donor_organization_id,
    )


# Delivery reports --------------------------------------------------------------------------


def report_payloads(report, *, need=None) -> dict:
    from apps.reports.api.serializers import ReportInsiderSerializer, ReportSerializer

    keep(report, need=need)
    insider = represent(ReportInsiderSerializer, report, {**OUTBOX, "insider": True})
    donors = represent(ReportSerializer, report, OUTBOX)
    return {ORG: insider, VERIFIER: insider, DONOR: donors}


def report_events(report, *, need=None) -> list:
    """One event for the organization and verifiers, one per donor whose money went to the
    need (committed, on its way or delivered): each donor hears of what it funded."""
    from aidmatch.lifecycle import AllocationStatus as A
    from apps.matching.models import Allocation

    payloads = report_payloads(report, need=need)
    need = report.need
    donors = (
        Allocation.objects.filter(
            need_id=need.pk, status__in=[A.COMMITTED, A.DISBURSING, A.DISBURSED]
        )
        .values_list("pledge__donor_id", "pledge__donor_organization_id")
        .distinct()
    )
    common = {"resource_id": report.pk}
    events = [
        new_event(
            EventType.REPORT_SUBMITTED,
            payloads={ORG: payloads[ORG], VERIFIER: payloads[VERIFIER]},
            organization_id=need.organization_id,
            **common,
        )
    ]
    for donor_id, donor_organization_id in sorted(donors, key=str):
        events.append(
            new_event(
                EventType.REPORT_SUBMITTED,
                payloads={DONOR: payloads[DONOR]},
                donor_id=donor_id,
                donor_organization_id=donor_organization_id,
                **common,
            )
        )
    return events


# Organizations -----------------------------------------------------------------------------


def organization_payloads(organization) -> dict:
    from apps.organizations.api.serializers import OrganizationSerializer

    data = represent(OrganizationSerializer, organization, OUTBOX)
    return {ORG: data, VERIFIER: data}


def organization_event(event_type: EventType, organization):
    return new_event(
        event_type,
        resource_id=organization.pk,
        payloads=organization_payloads(organization),
        organization_id=organization.pk,
    )
