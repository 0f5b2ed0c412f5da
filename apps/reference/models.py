"""Facts shipped with the code: Afghanistan's provinces and districts (OCHA COD-AB P-codes),
humanitarian sectors with their DAC-5 purpose codes, ISO 4217 currencies with minor units.
Loaded by a data migration from ``apps/reference/data/``; read-only through the API."""

from django.db import models


class Province(models.Model):
    pcode = models.CharField(max_length=4, primary_key=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["pcode"]

    def __str__(self) -> str:
        return f"{self.pcode} {self.name}"


class District(models.Model):
    pcode = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=100)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="districts")

    class Meta:
        ordering = ["pcode"]

    def __str__(self) -> str:
        return f"{self.pcode} {self.name}"


class Sector(models.Model):
    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=100)
    dac5_codes = models.JSONField(default=list)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Currency(models.Model):
    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=100)
    minor_unit = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minor_unit__lte=4), name="currency_minor_unit_range"
            )
        ]

    def __str__(self) -> str:
        return self.code
