from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pages: newest first unless the caller orders otherwise."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200
