"""/funding/: how much is needed and funded, by province and by sector, for anyone.

The page is the same for every visitor of a language (no session, no per-visitor token: its
language switch posts to a language view of its own, csrf-exempt), so it is rendered once per
language and kept in the cache for FUNDING_PAGE_CACHE_SECONDS; shared caches may keep it as long
(Cache-Control: public), keyed on what picks the language (Vary: Accept-Language, Cookie).
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import set_language

from apps.core import l10n
from apps.core.money import money_str
from apps.funding.charts import chart
from apps.funding.selectors import Line, page_figures
from apps.reference.cache import reference_row
from apps.reference.models import Currency

logger = logging.getLogger(__name__)

CACHE_KEY = "funding-page:v1:{language}"


def cache_key(language: str) -> str:
    return CACHE_KEY.format(language=language)


def forget_cached_pages() -> None:
    """Drop the page of every language from the cache (the next visit renders it again)."""
    cache.delete_many([cache_key(code) for code, _ in settings.LANGUAGES])


@gzip_page
@require_safe
def funding_page(request):
    language = l10n.language_of(translation.get_language())
    ttl = settings.FUNDING_PAGE_CACHE_SECONDS
    body = _cached(cache_key(language))
    if body is None:
        body = render_to_string("funding/page.html", _context(language))
        _store(cache_key(language), body, ttl)
    response = HttpResponse(body)
    response["Content-Language"] = language
    patch_cache_control(response, public=True, max_age=ttl, s_maxage=ttl)
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


# The page's language switch: Django's set_language, without a CSRF token (the page is cached for
# everyone, so it carries none); all it can change is the visitor's language cookie.
funding_language = csrf_exempt(require_POST(set_language))


def _cached(key: str) -> str | None:
    try:
        return cache.get(key)
    except Exception:  # Redis down: render the page (the figures are one query)
        logger.warning("funding page: cache unreachable, rendering", exc_info=True)
        return None


def _store(key: str, body: str, ttl: int) -> None:
    try:
        cache.set(key, body, ttl)
    except Exception:
        logger.warning("funding page: cache unreachable, not stored", exc_info=True)


def _amount(value: Decimal, currency: str) -> Decimal:
    """The amount with exactly its currency's decimals (the API's money_str)."""
    return Decimal(money_str(value, reference_row(Currency, currency).minor_unit))


def _quantized(line: Line | None, currency: str) -> Line | None:
    if line is None:
        return None
    line.needed = _amount(line.needed, currency)
    line.funded = _amount(line.funded, currency)
    return line


def _context(language: str) -> dict:
    figures = page_figures(language)
    rtl = translation.get_language_bidi()
    sections = []
    for group in figures.currencies:
        for line in [*group.by_province, *group.by_sector]:
            _quantized(line, group.currency)
        _quantized(group.pooled, group.currency)
        sections.append(
            {
                "figures": group,
                "province_chart": chart(group.by_province, rtl=rtl, pooled=group.pooled),
                "sector_chart": chart(group.by_sector, rtl=rtl, pooled=group.pooled),
            }
        )
    return {"page": figures, "sections": sections, "rtl": rtl}
