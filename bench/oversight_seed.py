"""The history bench/oversight_bench.py measures: the app's bulk loader, tickets/demo/bulk.py.

n tickets at a fixed activity a day, with their clocks, handlings, feedbacks, transfers,
extensions and events (audit chains that verify); see that module's docstring.
"""
from __future__ import annotations

from tickets.demo.bulk import BATCH, C_COLS, E_COLS, F_COLS, H_COLS, T_COLS, V_COLS, X_COLS, bulk, seed, stamp_for

__all__ = ["BATCH", "C_COLS", "E_COLS", "F_COLS", "H_COLS", "T_COLS", "V_COLS", "X_COLS", "bulk", "seed", "stamp_for"]
