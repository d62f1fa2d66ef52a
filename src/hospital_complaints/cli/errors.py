"""The command line's error boundary, shared by the top-level group and any group a plugin adds.

A ``HospitalComplaintsError`` becomes a clear message (English and Chinese) and exit status 1.
Anything else that escapes a command is a bug of ours: it becomes a short message naming the
exception's type and exit status 2, never a traceback on the user's screen (a traceback can
quote personal data). ``HC_DEBUG=1`` shows the traceback to a developer who asks for it.

Groups nested under the ``hospital-complaints`` command are covered by the
top-level group already; use :class:`ErrorBoundaryGroup` for a group that can also be run on
its own (tests with ``CliRunner().invoke(group, ...)``, a plugin's own console script).
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import HospitalComplaintsError

DEBUG_VAR = "HC_DEBUG"


class InternalError(click.ClickException):
    exit_code = 2


def internal_error(exc: BaseException) -> InternalError:
    return InternalError(
        f"an unexpected internal error ({type(exc).__name__}) stopped the command. This is a "
        "bug in hospital-complaints or a plugin; each change is one transaction, so nothing "
        f"was half-written. Set {DEBUG_VAR}=1 to see the Python traceback (it may contain "
        "personal data)\n"
        f"内部错误（{type(exc).__name__}）导致命令中止；每次修改均为单一事务，不会写入不完整的数据。"
        f"设置 {DEBUG_VAR}=1 可查看详细信息")


class ErrorBoundaryGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HospitalComplaintsError as exc:
            raise click.ClickException(str(exc)) from exc
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort,
                KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            from ..settings import debug_requested

            if debug_requested():
                raise
            raise internal_error(exc) from exc
