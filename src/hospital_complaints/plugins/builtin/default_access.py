"""Built-in access policy for revealing identity (complainant and patient), by role.

| role                   | may see identity of            |
|------------------------|--------------------------------|
| patient_relations      | complaints, suggestions, ...   |
| complaint_officer      | complaints, suggestions, ...   |
| discipline_inspection  | reports (举报) and the rest    |

Everyone else is refused. A hospital replaces this with its own ``hc_can_reveal_identity``
plugin (asked first; block this one with ``HC_DISABLE_PLUGINS=default_access``). The rule that
a report's complainant is never revealed to the department it concerns (nor to a viewer whose
department is unknown) is applied before any plugin is asked and cannot be relaxed by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ...domain.complaint import Complaint
    from ..types import AccessDecision, Viewer

CASE_ROLES = frozenset({"patient_relations", "complaint_officer", "discipline_inspection"})
REPORT_ROLES = frozenset({"discipline_inspection"})


@hookimpl(trylast=True)
def hc_can_reveal_identity(viewer: Viewer, complaint: Complaint) -> AccessDecision:
    from ..types import AccessDecision

    allowed = REPORT_ROLES if complaint.is_whistleblowing else CASE_ROLES
    granted = sorted(viewer.roles & allowed)
    if granted:
        return AccessDecision.allow("default_access", f"role {granted[0]}")
    return AccessDecision.refuse(
        "default_access",
        f"none of the viewer's roles may see identity here; needed one of: "
        f"{', '.join(sorted(allowed))} (无查看身份信息的角色)")
