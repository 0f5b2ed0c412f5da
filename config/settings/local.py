"""A developer's machine or a demo: debug on; embedded defaults unless the environment says."""

from .base import *  # noqa: F403
from .base import LOG_LEVEL, env, logging_settings

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Plain lines for a terminal (LOG_FORMAT=json to see what production writes).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = logging_settings(LOG_FORMAT, LOG_LEVEL)
