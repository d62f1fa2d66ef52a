"""Built-in access policy for revealing identity (complainant and patient), by role.

| role                   | may see identity of            |
|------------------------|--------------------------------|
| patient_relations      | complaints, suggestions, ...   |
| complaint_officer      | complaints, suggestions, ...   |
| discipline_inspection  | reports (举报) and the rest    |

Everyone else is refused. A hospital replaces this with its own ``hc_can_reveal_identity``
plugin (asked first; block this one with ``HC_DISABLE_PLUGINS=default_access``). The rule that
a report's complainant is never revealed to the department it concerns is enforced by the
service itself and cannot be relaxed by any plugin.
"""

from __future__ import annotations

from ...domain.complaint import Complaint
from .. import hookimpl
from ..types import Viewer

CASE_ROLES = frozenset({"patient_relations", "complaint_officer", "discipline_inspection"})
REPORT_ROLES = frozenset({"discipline_inspection"})


@hookimpl(trylast=True)
def hc_can_reveal_identity(viewer: Viewer, complaint: Complaint) -> bool:
    allowed = REPORT_ROLES if complaint.is_whistleblowing else CASE_ROLES
    return bool(viewer.roles & allowed)
