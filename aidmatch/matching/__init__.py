"""Matching: which pledge funds which need (plain Python, no Django).

``solve`` is the exact solver (integer min-cost flow on an aggregated graph, OR-Tools);
``insert_greedy`` the fast incremental path for new pledges or needs; ``greedy_fill`` a
from-scratch greedy baseline. See ``model`` for the objective and its integer cost scale.
"""

from aidmatch.matching.greedy import GREEDY_VERSION, greedy_fill, insert_greedy
from aidmatch.matching.model import check_rows, eligible, evaluate, weight
from aidmatch.matching.solver import VERSION, solve
from aidmatch.matching.types import NeedIn, PledgeIn, Proposal, Row, Solution

__all__ = [
    "GREEDY_VERSION",
    "VERSION",
    "NeedIn",
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
