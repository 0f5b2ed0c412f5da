"""Dates as the people on the ground count them.

A date-only field (a receipt's date, a report's period, a deadline) is a day in the
organization's own time zone (``Organization.time_zone``, by default Asia/Kabul, UTC+4:30): a
receipt dated today in Kabul at 01:00 is today's, although it is still yesterday in UTC.
``local_today`` is the one place that answers "what is today" for such a field.
"""

import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

DEFAULT_TIME_ZONE = "Asia/Kabul"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def local_today(organization=None, *, now: datetime | None = None) -> date:
    """Today in ``organization``'s time zone (Asia/Kabul without one)."""
    return local_date(getattr(organization, "time_zone", None), now=now)


def local_date(time_zone: str | None, *, now: datetime | None = None) -> date:
    """The date in ``time_zone`` at ``now`` (default: this moment)."""
    now = now or timezone.now()
    return now.astimezone(zone(time_zone)).date()


def validate_time_zone(value: str) -> None:
    """An IANA time zone name that this machine's zoneinfo knows (e.g. Asia/Kabul)."""
    if value not in _known_zones():
        raise ValidationError(
            gettext("'%(value)s' is not an IANA time zone name such as Asia/Kabul."),
            code="invalid_time_zone",
            params={"value": value},
        )


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())
