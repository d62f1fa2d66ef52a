"""Department targets and analysis settings (the department's KPI sheet by default), from the
settings tree's ``imaging`` section:

| variable                    | meaning                                             | default |
|-----------------------------|-----------------------------------------------------|---------|
| HC_TARGET_WAIT_MIN          | waiting time target, arrived -> started (minutes)   | 15      |
| HC_TARGET_REPORT_MIN        | report target, completed -> final report (minutes)  | 15      |
| HC_TARGET_SLIP_MIN          | schedule slip target, scheduled -> started          | 15      |
| HC_TARGET_ONSITE_URGENT_MIN | engineer on site, urgent/emergency fault (minutes)  | 30      |
| HC_TARGET_ONSITE_MIN        | engineer on site, ordinary fault (minutes)          | 120     |
| HC_CLUSTER_SIZE             | complaints that make a cluster                      | 3       |
| HC_CLUSTER_DAYS             | ... within this many days                           | 7       |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import ImagingSettings


@dataclass(frozen=True)
class Targets:
    wait_min: float = 15
    report_min: float = 15
    slip_min: float = 15
    onsite_urgent_min: float = 30
    onsite_min: float = 120
    wait_bands: tuple[float, ...] = (15, 30, 60)
    report_bands: tuple[float, ...] = (15, 60, 240)
    cluster_size: int = 3
    cluster_days: int = 7

    def target(self, metric: str) -> float:
        return {"wait": self.wait_min, "report": self.report_min, "slip": self.slip_min}[metric]

    @classmethod
    def from_settings(cls, imaging: ImagingSettings) -> Targets:
        """The targets of the settings tree's ``imaging`` section (``HC_TARGET_*``,
        ``HC_CLUSTER_*``)."""
        return cls(wait_min=imaging.target_wait_min, report_min=imaging.target_report_min,
                   slip_min=imaging.target_slip_min,
                   onsite_urgent_min=imaging.target_onsite_urgent_min,
                   onsite_min=imaging.target_onsite_min, cluster_size=imaging.cluster_size,
                   cluster_days=imaging.cluster_days)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Targets:
        """The targets from ``HC_*`` variables, read by the settings loader."""
        from ..settings import Settings

        return cls.from_settings(Settings.load(environ).imaging)
