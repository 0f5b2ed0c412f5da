from apps.core.routers import OptionalSlashRouter
from apps.fx.api import views

router = OptionalSlashRouter()
router.register("exchange-rates", views.ExchangeRateViewSet, basename="exchange-rate")

urlpatterns = router.urls
