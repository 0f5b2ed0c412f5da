from apps.core.routers import OptionalSlashRouter
from apps.matching.api import views

router = OptionalSlashRouter()
router.register("allocations", views.AllocationViewSet, basename="allocation")

urlpatterns = router.urls
