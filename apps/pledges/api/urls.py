from apps.core.routers import OptionalSlashRouter
from apps.pledges.api import views

router = OptionalSlashRouter()
router.register("pledges", views.PledgeViewSet, basename="pledge")

urlpatterns = router.urls
