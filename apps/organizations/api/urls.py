from django.urls import path

from apps.core.routers import OptionalSlashRouter
from apps.organizations.api import vetting, views

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
    *router.urls,
]
