from apps.core.routers import OptionalSlashRouter
from apps.reference.api import views

router = OptionalSlashRouter()
router.register("reference/provinces", views.ProvinceViewSet, basename="province")
router.register("reference/districts", views.DistrictViewSet, basename="district")
router.register("reference/sectors", views.SectorViewSet, basename="sector")
router.register("reference/currencies", views.CurrencyViewSet, basename="currency")

urlpatterns = router.urls
