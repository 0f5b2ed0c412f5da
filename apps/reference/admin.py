from django.contrib import admin

from apps.reference.models import Currency, District, Province, Sector


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
