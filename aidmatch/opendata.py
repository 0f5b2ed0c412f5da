"""Who and what may be published as open data (IATI, HXL, flows, CSV), in plain Python.

Publishing is opt-in and errs on the side of the people behind the figures:

- An organization is published only when it opted in (``publish_open_data``) and is verified.
  A sensitive organization is published under its pseudonym, with no organization identifier
  (an IATI org-id names it in a public registry), no title or description of its needs, no
  district, no location text and no staff; only its province and sector.
- A donor is named only when it is a donor institution that itself opted in and the pledge is
  not anonymous. Private persons are never named ("private donor"); an anonymous pledge is
  "anonymous donor" everywhere.
- People counts smaller than the public summary's minimum are not published.
- Nothing confidential is ever read for an export: no exact location, contact or principal.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS_DONOR = "anonymous donor"
PRIVATE_DONOR = "private donor"


@dataclass(frozen=True)
class Party:
    """An organization or a donor as open data shows it: a name, and an IATI org-id (``ref``)
    only where publishing it names no one who must stay hidden."""

    name: str
    ref: str = ""
    details: bool = False  # titles, descriptions and districts may be shown


def organization_party(*, name: str, pseudonym: str, sensitive: bool, iati_org_id: str) -> Party:
    """A publishing organization: its name and org-id, or only its pseudonym when sensitive."""
    if sensitive:
        return Party(name=pseudonym)
    return Party(name=name, ref=iati_org_id.strip(), details=True)


def donor_party(
    *,
    anonymous: bool,
    institution: Party | None = None,
    institution_publishes: bool = False,
) -> Party:
    """A pledge's donor: the institution when it opted in (and the pledge is not anonymous);
    "anonymous donor" for an anonymous pledge; "private donor" for everyone else."""
    if anonymous:
        return Party(name=ANONYMOUS_DONOR)
    if institution is not None and institution_publishes:
        return institution
    return Party(name=PRIVATE_DONOR)


def count_shown(count: int | None, minimum: int) -> int | None:
    """A count of people, or None when it is small enough to single someone out."""
    if count is None or count < minimum:
        return None
    return count
