from django.urls import path

from apps.core.routers import OptionalSlashRouter
from apps.organizations.api import documents, invitations, vetting, views

router = OptionalSlashRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    *[
        path(
            f"organizations/<uuid:pk>/{action}",
            vetting.VettingActionView.as_view(action=action),
            name=f"organization-{action}",
        )
        for action in ("verify", "reject", "suspend", "reinstate")
    ],
    path(
        "organizations/<uuid:pk>/vetting",
        vetting.VettingHistoryView.as_view(),
        name="organization-vetting",
    ),
    path(
        "organizations/<uuid:pk>/documents",
        documents.DocumentListView.as_view(),
        name="organization-documents",
    ),
    path(
        "organizations/<uuid:pk>/documents/<uuid:document_id>",
        documents.DocumentDownloadView.as_view(),
        name="organization-document",
    ),
    # With or without a trailing slash, as the router's routes (the schema names the first).
    *[
        path(route + slash, view.as_view(**({"schema": None} if slash else {})), name=name)
        for route, view, name in [
            (
                "organizations/<uuid:pk>/invitations",
                invitations.InvitationListView,
                "organization-invitations",
            ),
            (
                "organizations/<uuid:pk>/invitations/<uuid:invitation_id>/revoke",
                invitations.InvitationRevokeView,
                "organization-invitation-revoke",
            ),
            ("invitations/accept", invitations.InvitationAcceptView, "invitation-accept"),
            ("invitations/decline", invitations.InvitationDeclineView, "invitation-decline"),
        ]
        for slash in ("", "/")
    ],
    *router.urls,
]
