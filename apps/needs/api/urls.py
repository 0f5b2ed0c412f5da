from apps.core.routers import OptionalSlashRouter
from apps.needs.api import views

router = OptionalSlashRouter()
router.register("needs", views.NeedViewSet, basename="need")

urlpatterns = router.urls
