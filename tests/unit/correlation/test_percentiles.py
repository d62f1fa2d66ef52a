"""Ranking complaint exams in per-cell value lists (the bulk evidence path)."""

from __future__ import annotations

from hospital_complaints.correlation.percentiles import RankTarget, parse_values, rank_month


def test_ranks_union_the_cells_of_a_day_and_of_a_device():
    cells = [
        ("2026-11-16", "CT", "CT1", ["10,20", "150"]),
        ("2026-11-16", "CT", "CT2", ["20,30", None]),
        ("2026-11-17", "CT", "CT1", ["5", "-2"]),
        ("2026-11-17", "MR", "MR1", ["99", "99"]),
    ]
    targets = [RankTarget(0, "2026-11-16", "CT", "CT2", [20, None]),
               RankTarget(1, "2026-11-17", "CT", "CT1", [5, -2])]
    ranks = rank_month(cells, targets, 2)
    assert ranks[0] == ([75.0, None], [50.0, None])  # a tie counts as at or below
    assert ranks[1] == ([100.0, 100.0], [33.3, 50.0])


def test_a_target_in_no_cell_has_an_empty_distribution():
    ranks = rank_month([], [RankTarget(7, "2026-11-16", None, None, [3])], 1)
    assert ranks[7] == ([None], [None])  # as Rank(0, 0).percentile
    assert parse_values(None) == [] and parse_values("1,-225") == [1, -225]
