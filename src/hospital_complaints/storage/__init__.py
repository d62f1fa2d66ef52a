"""Storage: the repository and unit-of-work protocols, and their implementations."""

from .base import CaseRepository, DuplicateIntake, UnitOfWork
from .memory import InMemoryStore, InMemoryUnitOfWork

__all__ = ["CaseRepository", "DuplicateIntake", "InMemoryStore", "InMemoryUnitOfWork",
           "UnitOfWork"]
