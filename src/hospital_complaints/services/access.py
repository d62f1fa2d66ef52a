"""The one decision on who may see a complainant's and patient's identity unmasked.

Every path that shows identity unmasked (``reveal`` in the CLI, exports with identity such as
``fhir export --reveal-identity``, HTTP later) asks :meth:`AccessPolicy.decide`, and the
service records the answer, allowed or refused, as an audit event on the case. What an
allowed decision hands out is a :class:`RevealGrant`; exporters reveal a case only when they
hold a grant for it.

The decision, in order:

1. **The whistle-blower rule** (cannot be relaxed by any plugin). For a report (举报): the
   viewer's department must be known to the department registry, the department the report
   concerns (when it names one) must be known too, and the two must not be related (the same
   unit, or one within the other: CT室 is within 影像科). Otherwise: refused.
2. **The plugins** (``hc_can_reveal_identity``): the first non-``None`` answer. No answer: no.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.complaint import Complaint
from ..domain.departments import DepartmentRegistry
from ..errors import PluginError
from ..plugins.manager import HCPluginManager
from ..plugins.types import AccessDecision, Viewer

WHISTLEBLOWER_RULE = "whistle-blower rule"


@dataclass(frozen=True)
class RevealGrant:
    """Proof that revealing one case's identity to one viewer was decided and audited:
    ``event_id`` is the ``identity_revealed`` event that records it."""

    reference: str
    viewer: str
    decided_by: str
    event_id: str


class AccessPolicy:
    def __init__(self, plugins: HCPluginManager, departments: DepartmentRegistry,
                 app: Any = None) -> None:
        self.plugins = plugins
        self.departments = departments
        self.app = app

    def viewer_department_id(self, viewer: Viewer) -> str | None:
        found = self.departments.resolve(viewer.department)
        return found.id if found else None

    def decide(self, viewer: Viewer, complaint: Complaint, purpose: str) -> AccessDecision:
        refused = self._whistleblower_rule(viewer, complaint)
        if refused is not None:
            return refused
        try:
            return self.plugins.can_reveal_identity(viewer, complaint, purpose, self.app)
        except PluginError as exc:  # a broken access plugin refuses; the refusal is audited
            return AccessDecision.refuse("access plugins (error)", exc.en)

    def _whistleblower_rule(self, viewer: Viewer, c: Complaint) -> AccessDecision | None:
        if not c.is_whistleblowing:
            return None
        mine = self.departments.resolve(viewer.department)
        if mine is None:
            given = "not given" if not viewer.department else "not in the department registry"
            return AccessDecision.refuse(
                WHISTLEBLOWER_RULE,
                f"a report's complainant is shown only to a viewer whose department is known; "
                f"the viewer's department is {given} (举报人身份仅对科室明确的查看人开放)")
        if c.concerns_department:
            concerned = self.departments.resolve(c.concerns_department)
            if concerned is None:
                return AccessDecision.refuse(
                    WHISTLEBLOWER_RULE,
                    "the department the report concerns is not in the department registry, so "
                    "the viewer cannot be shown not to belong to it; add it to the registry "
                    "(被举报科室不在科室目录中，无法确认查看人不属于该科室)")
            if self.departments.related(mine.id, concerned.id):
                return AccessDecision.refuse(
                    WHISTLEBLOWER_RULE,
                    f"the report concerns {concerned.display} and the viewer belongs to "
                    f"{mine.display}: a report's complainant is never revealed to the department "
                    f"it concerns (举报人身份不得向被举报科室披露)")
        return None
