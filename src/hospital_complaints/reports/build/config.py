"""The ``reports`` settings section (``[plugins.reports]`` or ``HC_REPORT_*``), declared by the
built-in ``default_reports`` plugin."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...domain.taxonomy import OutcomeKind

SETTINGS_ID = "reports"
#: setting key -> environment variable
ENV = {"chromium": "HC_REPORT_CHROMIUM", "ko41_mapping_file": "HC_REPORT_KO41_MAPPING",
       "peer_yoy_change_pct": "HC_REPORT_PEER_YOY_PCT"}

RATE_NAMES = ("response", "resolution", "satisfaction")


class RateSettings(BaseModel):
    """How the three rates (响应率, 解决率, 满意率) are defined; regions differ."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: first feedback by the SLA policy's acknowledge deadline, or within 24 hours
    response: Literal["acknowledge_deadline", "acknowledge_24h"] = "acknowledge_deadline"
    #: outcomes that count as resolved, over every case finished in the month
    resolved_outcomes: tuple[OutcomeKind, ...] = (
        OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD, OutcomeKind.NOT_UPHELD,
        OutcomeKind.RESOLVED_BY_EXPLANATION)
    #: follow-up scores (1-5) at or above this count as satisfied
    satisfied_from: int = Field(4, ge=1, le=5)
    #: e.g. {response = 0.2, resolution = 0.4, satisfaction = 0.4}: a weighted score
    weights: dict[str, float] | None = None

    @field_validator("weights")
    @classmethod
    def _known_rates(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(RATE_NAMES))
        if unknown:
            raise ValueError(f"unknown rate {', '.join(unknown)}; the rates are "
                             f"{', '.join(RATE_NAMES)}")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights are zero or more, and at least one is above zero")
        return value


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the Chromium that prints PDF (default: chromium / chromium-browser on PATH)
    chromium: str | None = None
    #: a site copy of reports/build/ko41a_mapping.json
    ko41_mapping_file: str | None = None
    #: the peers' complaint-rate change year on year, in percent (a reference line)
    peer_yoy_change_pct: float | None = None
    #: roles that see staff names (not letters) in the scan-duration table
    staff_name_roles: tuple[str, ...] = ("department_head", "quality_control")
    #: how many root causes the monthly report lists
    top_root_causes: int = Field(10, ge=1, le=100)
    rates: RateSettings = Field(default_factory=RateSettings)
