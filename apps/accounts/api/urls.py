from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/revoke", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
]
