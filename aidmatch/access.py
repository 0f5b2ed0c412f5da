"""Who may do what: roles and API-key scopes, as plain values shared by every app."""

from enum import StrEnum


class PlatformRole(StrEnum):
    NONE = ""
    VERIFIER = "verifier"
    PLATFORM_ADMIN = "platform_admin"


class MemberRole(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class Scope(StrEnum):
    """What a partner API key may do on behalf of its organization."""

    ORGANIZATION_READ = "organization:read"
    EVENTS_READ = "events:read"
    NEEDS_READ = "needs:read"
    NEEDS_WRITE = "needs:write"
    PLEDGES_READ = "pledges:read"
    PLEDGES_WRITE = "pledges:write"
    ALLOCATIONS_READ = "allocations:read"
    ALLOCATIONS_WRITE = "allocations:write"
    DISBURSEMENTS_READ = "disbursements:read"
    DISBURSEMENTS_WRITE = "disbursements:write"
    REPORTS_READ = "reports:read"
    REPORTS_WRITE = "reports:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


def unknown_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The scopes in ``scopes`` that do not exist, in the order given."""
    return [s for s in scopes if s not in ALL_SCOPES]
