"""Modality Performed Procedure Step: the SCP, the mapping of its messages and their storage."""

from .mapping import Milestone
from .scp import MppsScp
from .store import Answer, Incoming, MppsStore

__all__ = ["Answer", "Incoming", "Milestone", "MppsScp", "MppsStore"]
