from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.reference.models import Currency, District, Province, Sector


@admin.register(Province)
class ProvinceAdmin(ReadOnlyAdmin):
    list_display = ("pcode", "name")
    search_fields = ("pcode", "name")


@admin.register(District)
class DistrictAdmin(ReadOnlyAdmin):
    list_display = ("pcode", "name", "province")
    list_filter = ("province",)
    search_fields = ("pcode", "name")


@admin.register(Sector)
class SectorAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "dac5_codes")


@admin.register(Currency)
class CurrencyAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "minor_unit")
    search_fields = ("code", "name")
