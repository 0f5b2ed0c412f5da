from apps.core.routers import OptionalSlashRouter
from apps.matching.api import views

router = OptionalSlashRouter()
router.register("allocations", views.AllocationViewSet, basename="allocation")
router.register("match-runs", views.MatchRunViewSet, basename="match-run")

urlpatterns = router.urls
