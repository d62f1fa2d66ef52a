"""Department targets and analysis settings (seed 001 and seed 004 numbers by default).

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

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError


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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Targets:
        env = os.environ if environ is None else environ
        names = {"wait_min": "HC_TARGET_WAIT_MIN", "report_min": "HC_TARGET_REPORT_MIN",
                 "slip_min": "HC_TARGET_SLIP_MIN",
                 "onsite_urgent_min": "HC_TARGET_ONSITE_URGENT_MIN",
                 "onsite_min": "HC_TARGET_ONSITE_MIN", "cluster_size": "HC_CLUSTER_SIZE",
                 "cluster_days": "HC_CLUSTER_DAYS"}
        values: dict[str, float | int] = {}
        for attr, var in names.items():
            if env.get(var):
                try:
                    number = float(env[var])
                except ValueError:
                    raise ConfigError(f"{var}={env[var]!r} is not a number of minutes/days",
                                      f"{var}={env[var]!r} 不是数字") from None
                if number <= 0:
                    raise ConfigError(f"{var} must be positive, got {env[var]}",
                                      f"{var} 必须为正数")
                values[attr] = int(number) if attr.startswith("cluster") else number
        return cls(**values)  # type: ignore[arg-type]
