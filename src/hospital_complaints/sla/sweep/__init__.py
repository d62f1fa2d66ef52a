"""The sweep: at one instant, which deadlines are due soon, overdue or breached, and which
alerts are new.

Definitions (``docs/sla.md``):

- **due soon**: not met, and the instant is within the reminder lead before the due instant
  (催办). **overdue**: not met, and the due instant has passed (督办).
  **breached**: met, but after the due instant (late, on the record).
- Only open cases are swept: closed, withdrawn and referred cases have stopped clocks.
- An alert is *new* when the case has not raised that ``(milestone, kind)`` before (its
  ``deadline_alerts``). A deadline found already overdue raises only ``overdue``, not a late
  reminder. Feeding the raised alerts back makes a repeated sweep return nothing new.

How :class:`Sweeper` is fast (``docs/sla.md``, "Performance"):

- Deadlines counted in days from the receipt are the same for every case received on the
  same local day: the sweeper keeps, per (policy, complexity, local day of receipt,
  extensions), the rows of due instants, computed once by the engine. Periods counted from
  the acceptance or the response are cached per local start day, actions per due date.
- Every instant is compared in the policy's zone, as a plain wall-clock comparison, and an
  hours deadline is the receipt plus the hours on the wall clock: no time-zone conversion
  per case. That is exact only where the zone's UTC offset does not change, which the
  sweeper checks (:class:`_ZoneDays`); elsewhere it computes and compares as the engine does.
- What it finds is kept compact (:class:`_Found`); the :class:`SweepItem` and
  :class:`Alert` tuples are built when a list of the result is first read.

:func:`sweep_reference` computes every case from scratch with the per-case function; tests
check that both agree.

The package, one idea per module:

- :mod:`.results`: what a sweep returns (:class:`Alert`, :class:`SweepItem`,
  :class:`SweepResult`) and the compact findings behind a result's lazy lists;
- :mod:`.collector`: the garbage-collector pause while sweeps run;
- :mod:`.zones`: the days on which a zone's UTC offset is steady (:class:`_ZoneDays`);
- :mod:`.plans`: the compiled rule plans (:class:`_Rule`, :class:`_Row`, :class:`_Plan`);
- :mod:`.sweeper`: :class:`Sweeper` (the hot loop) and the one-off :func:`sweep`;
- :mod:`.reference`: :func:`sweep_reference`, the per-case yardstick.

Only the names below are public; the underscored names are private to the package.
"""

from .reference import sweep_reference
from .results import Alert, SweepItem, SweepResult
from .sweeper import Sweeper, sweep

__all__ = ["Alert", "SweepItem", "SweepResult", "Sweeper", "sweep", "sweep_reference"]
