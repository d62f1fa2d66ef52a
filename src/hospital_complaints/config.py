"""The settings tree moved to :mod:`hospital_complaints.settings`; this name stays for hosts
that import ``hospital_complaints.config.Settings`` (release 0.1)."""

from .settings import ENVIRONMENT, Settings, settings_error

__all__ = ["ENVIRONMENT", "Settings", "settings_error"]
