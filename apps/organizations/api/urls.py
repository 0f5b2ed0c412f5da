from django.urls import path

from apps.core.routers import OptionalSlashRouter
from apps.organizations.api import documents, vetting, views

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
    *router.urls,
]
