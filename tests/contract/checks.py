"""What every schemathesis run of the project checks, and how it generates input."""

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,  # e.g. the Location of every 201
    response_schema_conformance,
]
GENERATION = {
    "mode": "all",  # schema-valid and schema-invalid input
    "max-examples": 25,
    "deterministic": True,
    "database": "none",
    "with-security-parameters": False,  # the tests send the credentials
}
# Every phase: explicit examples, the coverage phase's boundary cases, and fuzzing.
CONFIG = schemathesis.Config.from_dict({"generation": GENERATION})
# Examples and fuzzing only: for callers whose boundary cases another run already sends.
WITHOUT_COVERAGE = schemathesis.Config.from_dict(
    {"generation": GENERATION, "phases": {"coverage": {"enabled": False}}}
)
