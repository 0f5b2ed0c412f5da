from apps.core.routers import OptionalSlashRouter
from apps.pledges.api import schedule_views, views

router = OptionalSlashRouter()
router.register("pledges", views.PledgeViewSet, basename="pledge")
router.register(
    "pledge-schedules", schedule_views.PledgeScheduleViewSet, basename="pledge-schedule"
)

urlpatterns = router.urls
