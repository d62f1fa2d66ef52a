"""The command line's error boundary, shared by the top-level group and any group a plugin adds.

A ``HospitalComplaintsError`` becomes a clear message (English and Chinese) and exit status 1,
never a traceback. Groups nested under the ``hospital-complaints`` command are covered by the
top-level group already; use :class:`ErrorBoundaryGroup` for a group that can also be run on
its own (tests with ``CliRunner().invoke(group, ...)``, a plugin's own console script).
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import HospitalComplaintsError


class ErrorBoundaryGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HospitalComplaintsError as exc:
            raise click.ClickException(str(exc)) from exc
