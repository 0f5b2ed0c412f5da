"""Request body parsers for the API.

JSON nested deeper than JSON_MAX_DEPTH is refused (400) before anything recursive runs: Python's
json module, serializers and the idempotency fingerprint all recurse, and a 2 KB body of
``[[[[…]]]]`` would otherwise end in a RecursionError (a 500). The depth is measured by one
iterative pass over the text that skips string literals, escapes included.
"""

import re

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

_NEXT = re.compile(r'["\[\]{}]')
# The rest of a string literal after its opening quote; possessive, so it never backtracks.
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*+"', re.DOTALL)


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``: one pass, no
    recursion, linear in the length (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than it has openers
    depth, pos = 0, 0
    while (found := _NEXT.search(text, pos)) is not None:
        char = found.group()
        if char == '"':
            string = _STRING_REST.match(text, found.end())
            if string is None:
                return False  # an unterminated string: the JSON parser says so
            pos = string.end()
            continue
        pos = found.end()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than JSON_MAX_DEPTH with a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except ValueError as exc:
            raise ParseError(gettext("JSON parse error - %(error)s") % {"error": exc}) from None
        limit = settings.JSON_MAX_DEPTH
        if json_depth_exceeds(text, limit):
            raise ParseError(
                gettext("JSON nested deeper than %(limit)s levels is not accepted.")
                % {"limit": limit}
            )
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(gettext("JSON parse error - %(error)s") % {"error": exc}) from None
