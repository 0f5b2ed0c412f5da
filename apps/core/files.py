"""Confidential files (report evidence, vetting documents): read with a size limit, checked
against an allowlist of types by their magic bytes, hashed (SHA-256 of the plaintext) and
stored encrypted with the same MultiFernet keys as confidential fields (``FernetBlobField``);
read back only after the hash is checked."""

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext_noop as _

from aidmatch.errors import RuleViolation, StateConflict
from apps.core.fields import fernet

# Content types by their leading bytes.
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
DOCUMENT_TYPES = frozenset(MAGIC)


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    size: int
    sha256: str
    blob: bytes  # the Fernet token, ready to store


def sniff(content: bytes) -> str | None:
    for content_type, signatures in MAGIC.items():
        if any(content.startswith(sig) for sig in signatures):
            return content_type
    return None


def _invalid(message: str, **params: object) -> RuleViolation:
    return RuleViolation(message, errors={"file": [message]}, params=params)


def check_upload(upload, *, max_bytes: int, allowed_types=None) -> CheckedUpload:
    """Read, check, hash and encrypt an uploaded file. ``allowed_types``: content types that
    must match both the declared type and the file's magic bytes (None: any declared type)."""
    content = upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _invalid(
            _("The file is larger than %(megabytes)s MB."), megabytes=max_bytes // (1024 * 1024)
        )
    if not content:
        raise _invalid(_("The file is empty."))
    declared = (getattr(upload, "content_type", "") or "application/octet-stream")[:100]
    declared = declared.split(";")[0].strip().lower()
    if allowed_types is not None:
        found = sniff(content)
        allowed = ", ".join(sorted(allowed_types))
        if declared not in allowed_types:
            raise _invalid(
                _("Files of type %(declared)s are not accepted; send one of %(allowed)s."),
                declared=declared,
                allowed=allowed,
            )
        if found != declared:
            raise _invalid(
                _("The file's content is not %(declared)s; send one of %(allowed)s."),
                declared=declared,
                allowed=allowed,
            )
    name = (getattr(upload, "name", "") or "file").replace("\\", "/").rsplit("/", 1)[-1]
    return CheckedUpload(
        filename=name[:255] or "file",
        content_type=declared,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        blob=fernet().encrypt(content),
    )


def decrypt_checked(blob, sha256: str) -> bytes:
    """The plaintext of a stored file, refused if it no longer matches its SHA-256."""
    content = fernet().decrypt(bytes(blob))
    if hashlib.sha256(content).hexdigest() != sha256:
        raise StateConflict(_("The stored file does not match its SHA-256."))
    return content
