from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import (
    MeUpdateSerializer,
    RegisterSerializer,
    TokenRequestSerializer,
    TokenRevokeQuerySerializer,
    TokenSerializer,
    UserSerializer,
)
from apps.accounts.login_limits import LoginLocked
from apps.accounts.models import User
from apps.core.permissions import UsersOnly
from apps.core.throttling import AuthRateThrottle


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer}, tags=["auth"])
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange an email and password for a bearer token (shown once).

    Limited per client address (the ``auth`` throttle) and per email (LOGIN_FAILURE_LIMIT
    attempts per LOGIN_FAILURE_WINDOW_MINUTES, whatever the address): 429 with Retry-After."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer}, tags=["auth"])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token, text = services.token_issue(**serializer.validated_data)
        except LoginLocked as locked:
            raise exceptions.Throttled(wait=locked.wait) from None
        body = {"token": text, "expires_at": token.expiry}
        return Response(TokenSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    """Revoke the token this request is made with (``?all=true``: every token of the user)."""

    permission_classes = [UsersOnly]

    @extend_schema(
        request=None,
        parameters=[TokenRevokeQuerySerializer],
        responses={204: None},
        tags=["auth"],
    )
    def post(self, request):
        query = TokenRevokeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["all"]:
            services.token_revoke_all(user=request.user)
        elif request.auth is not None and hasattr(request.auth, "digest"):
            services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated, UsersOnly]

    @extend_schema(responses={200: UserSerializer}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(self._me(request)).data)

    @extend_schema(request=MeUpdateSerializer, responses={200: UserSerializer}, tags=["auth"])
    def patch(self, request):
        """Change your own account's settings: ``language`` ("", "en", "fa" or "ps"), the
        language of your emails (and of the portal's pages)."""
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "language" in serializer.validated_data:
            services.user_set_language(
                user=request.user, language=serializer.validated_data["language"]
            )
        return Response(UserSerializer(self._me(request)).data)

    @staticmethod
    def _me(request):
        return (
            # User, not type(request.user): with a browser session that is Django's lazy
            # wrapper, which has no manager.
            User.objects.prefetch_related("memberships__organization").get(pk=request.user.pk)
        )
