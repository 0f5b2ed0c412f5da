from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with or without a trailing slash: no redirects, which drop POST bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
