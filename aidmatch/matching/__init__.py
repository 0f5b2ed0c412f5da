"""Matching: which pledge funds which need (plain Python, no Django).

``solve`` is the exact solver (integer min-cost flow on an aggregated graph, OR-Tools);
``insert_greedy`` the fast incremental path for new pledges or needs; ``greedy_fill`` a
from-scratch greedy baseline. Pledges and needs come as iterables of ``PledgeIn``/``NeedIn``
or as columns (``PledgeArrays``/``NeedArrays``), the compact form for large worlds.
See ``model`` for the objective and its integer cost scale.
"""

from aidmatch.matching.greedy import GREEDY_VERSION, greedy_fill, insert_greedy
from aidmatch.matching.model import check_rows, eligible, evaluate, weight
from aidmatch.matching.solver import VERSION, solve
from aidmatch.matching.types import (
    NEVER,
    Earmark,
    NeedArrays,
    NeedIn,
    PledgeArrays,
    PledgeIn,
    Proposal,
    Row,
    Solution,
)

__all__ = [
    "GREEDY_VERSION",
    "NEVER",
    "VERSION",
    "Earmark",
    "NeedArrays",
    "NeedIn",
    "PledgeArrays",
    "PledgeIn",
    "Proposal",
    "Row",
    "Solution",
    "check_rows",
    "eligible",
    "evaluate",
    "greedy_fill",
    "insert_greedy",
    "solve",
    "weight",
]
