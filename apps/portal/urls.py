from django.urls import path

from apps.portal.views import auth, dashboard, invitations, members, needs, reports, tranches

app_name = "portal"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("sign-in", auth.SignInView.as_view(), name="login"),
    path("sign-out", auth.sign_out, name="logout"),
    path("language", auth.set_language, name="set-language"),
    path("register", invitations.RegisterView.as_view(), name="register"),
    path("invitation", invitations.InvitationView.as_view(), name="invitation"),
    path("invitation/switch-account", invitations.switch_account, name="invitation-switch"),
    path("organization", auth.ChooseOrganizationView.as_view(), name="choose-organization"),
    path("needs/new", needs.NeedCreateView.as_view(), name="need-create"),
    path("needs/<uuid:pk>", needs.NeedDetailView.as_view(), name="need"),
    path("needs/<uuid:pk>/edit", needs.NeedEditView.as_view(), name="need-edit"),
    path("needs/<uuid:pk>/submit", needs.NeedSubmitView.as_view(), name="need-submit"),
    path("needs/<uuid:pk>/report", reports.ReportCreateView.as_view(), name="report-create"),
    path("tranches/<uuid:pk>/confirm", tranches.ConfirmReceiptView.as_view(), name="confirm"),
    path("members", members.MembersView.as_view(), name="members"),
    path(
        "members/invitations/<uuid:invitation_id>/revoke",
        members.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
    path("api-keys", members.ApiKeysView.as_view(), name="api-keys"),
    path("api-keys/<str:prefix>/revoke", members.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]
