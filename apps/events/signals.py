"""``events_published``: sent by the relay, inside the transaction that gives the events their
positions, with ``events`` (a list of ``Event`` in position order). Receivers (webhook fan-out,
emails) write their own rows in that transaction, so each event is fanned out exactly once;
work outside the database belongs in ``transaction.on_commit``."""

from django.dispatch import Signal

events_published = Signal()
