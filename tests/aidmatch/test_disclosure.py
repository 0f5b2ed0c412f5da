from decimal import Decimal

from aidmatch.disclosure import Cell, summarize


def cell(province, orgs, people, needed="100"):
    return Cell(province, "education", "USD", set(orgs), 1, Decimal(needed), beneficiaries=people)


def test_cells_below_either_threshold_are_hidden_and_pooled():
    summary = summarize(
        [cell("AF01", "abc", 30), cell("AF02", "a", 30), cell("AF03", "abcd", 9)],
        min_organizations=3,
        min_beneficiaries=10,
    )

    assert [c.province for c in summary.cells] == ["AF01"]
    assert summary.suppressed_cells == 2
    pooled = summary.suppressed["USD"]
    assert (pooled.province, pooled.needed, pooled.beneficiaries) == (None, Decimal(200), 39)


def test_a_pool_that_is_itself_too_small_is_not_shown():
    summary = summarize([cell("AF02", "a", 30)], min_organizations=3, min_beneficiaries=10)

    assert summary.cells == [] and summary.suppressed == {}
    assert summary.suppressed_cells == 1
