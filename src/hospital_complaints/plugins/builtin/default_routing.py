"""Built-in routing: where a new case goes when the host did not say.

- A report (举报) goes to the discipline-inspection office, never to the department it is
  about, so that the whistle-blower's identity cannot reach that department.
- A complaint linked to an imaging exam goes to the imaging department.
- Everything else goes to the patient-relations office (医患关系办公室), the first-contact
  office of 首诉负责制.

A hospital overrides this with its own ``hc_route`` plugin (first non-None answer wins; block
this one with ``HC_DISABLE_PLUGINS=default_routing``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ...domain.complaint import Complaint
    from ..types import Routing

PATIENT_RELATIONS = "医患关系办公室 patient-relations office"
IMAGING = "影像科 imaging department"
DISCIPLINE = "纪检监察室 discipline-inspection office"


@hookimpl(trylast=True)
def hc_route(complaint: Complaint) -> Routing | None:
    from ..types import Routing

    if complaint.is_whistleblowing:
        return Routing(department=DISCIPLINE,
                       reason="report (举报): handled away from the department concerned")
    if complaint.exam_links:
        return Routing(department=IMAGING, reason="linked to an imaging exam")
    return Routing(department=PATIENT_RELATIONS, reason="default first-contact office")
