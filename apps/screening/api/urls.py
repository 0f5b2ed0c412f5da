from apps.core.routers import OptionalSlashRouter
from apps.screening.api import views

router = OptionalSlashRouter()
router.register("screening-hits", views.ScreeningHitViewSet, basename="screening-hit")
router.register("screening-lists", views.SanctionsListViewSet, basename="screening-list")

urlpatterns = router.urls
