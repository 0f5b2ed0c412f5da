from django.urls import path

from apps.core.routers import OptionalSlashRouter
from apps.reports.api import views

router = OptionalSlashRouter()
router.register("reports", views.ReportViewSet, basename="report")

urlpatterns = [
    path(
        "organizations/<uuid:pk>/funding",
        views.OrganizationFundingView.as_view(),
        name="organization-funding",
    ),
    *router.urls,
]
