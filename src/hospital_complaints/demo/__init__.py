"""The demo: one week of complaints in a hospital imaging department (影像科).

:func:`run_scenario` drives a :class:`ComplaintService` through realistic cases; the CLI's
``demo`` command prints what happened. The scenario uses only the public service API, so it
doubles as an example of how a host system calls the library.
"""

from .scenario import DemoResult, run_scenario

__all__ = ["DemoResult", "run_scenario"]
