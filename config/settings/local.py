"""A developer's machine or a demo: debug on; embedded defaults unless the environment says."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
