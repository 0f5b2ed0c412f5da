"""Production: refuses to start without a secret key, a database and encryption keys of its own."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_URL, FIELD_ENCRYPTION_KEYS, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (at least 50 characters).")
if not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
if "n9tG0h7s3KkVdJ8m3hYqk3o0w8b5kq1rYV3x8JQ0c2U=" in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set to keys of your own.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# The links in emails (base.py): over https, at the first named allowed host unless SITE_URL says.
_HOST = next((h for h in ALLOWED_HOSTS if h and not h.startswith((".", "*"))), "")
SITE_URL = env("SITE_URL", default=f"https://{_HOST}" if _HOST else "").rstrip("/")
if not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("SITE_URL must be the service's https:// address (email links).")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Prometheus scrapes each web process directly (inside the deployment's network, no TLS proxy
# in between): /metrics answers there instead of redirecting to https.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
