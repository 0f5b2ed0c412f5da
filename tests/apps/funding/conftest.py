import pytest

from apps.funding.views import forget_cached_pages


@pytest.fixture(autouse=True)
def _no_cached_funding_page():
    """Each test renders the page from its own data (the cache outlives a test's rows)."""
    forget_cached_pages()
    yield
    forget_cached_pages()
