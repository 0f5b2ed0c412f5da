"""``Authorization: Api-Key <key>``: a partner app acting for one organization, within scopes."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from apps.organizations.models import ApiKey

# Write last_used_at at most this often per key, so reads do not become writes on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyActor:
    """What ``request.user`` is for an API key: authenticated, with no person behind it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_verifier = False
    platform_role = ""
    pk = id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.organization_id = key.organization_id

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"
    parser = KeyParser()

    def authenticate(self, request):
        raw = self.parser.get(request)
        if raw is None:
            return None
        try:
            key = ApiKey.objects.get_from_key(raw.strip())
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(gettext("Invalid or revoked API key.")) from None
        if key.has_expired:
            raise exceptions.AuthenticationFailed(gettext("This API key has expired."))
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return KeyActor(key), key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.organizations.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Api-Key <key>",
        }
