"""``hospital-complaints hl7 ...``: inspect files, listen on MLLP, import (backfill) files,
replay stored messages, propose sender profiles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from .extract import ExtractOptions
from .mllp import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FRAME
from .rows import rows_for
from .tokenise import split_batch

if TYPE_CHECKING:
    from .sink import SqlSink

_FILES = click.argument("files", nargs=-1, required=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path))
_ZONE = click.option("--zone", envvar="HC_TIMEZONE", default="Asia/Shanghai",
                     show_default=True,
                     help="Time zone of HL7 times sent without an offset (env HC_TIMEZONE).")
_CHARSET = click.option("--charset", default="utf-8", show_default=True,
                        help="Character set of messages without MSH-18.")
_PROFILES = click.option(
    "--profiles", "profiles_file", default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sender profile file (TOML; default: the settings' [plugins.hl7v2] profiles, "
         "HC_HL7_PROFILES).")


def _options(zone: str, charset: str, profiles_file: Path | None = None) -> ExtractOptions:
    tz = _zone(zone)
    from .profiles import Profiles, load

    profiles: Profiles | None
    if profiles_file is not None:
        profiles = load(profiles_file)
    else:
        from hospital_complaints.plugin_api import cli_app

        from .source import profiles_of

        profiles = profiles_of(cli_app(click.get_current_context()))
    return ExtractOptions(zone=tz, default_charset=charset, profiles=profiles)


def _sql_sink() -> SqlSink:
    """The sink on the CLI's database (--db), exams in the deployment's time zone."""
    from hospital_complaints.plugin_api import cli_app

    from .sink import SqlSink

    ctx = click.get_current_context()
    app = cli_app(ctx)
    return SqlSink(app.store, tz=app.settings.timezone)


@click.group("hl7")
def hl7_group() -> None:
    """HL7 v2 exam events (IHE Scheduled Workflow): inspect, listen (MLLP), import."""


@hl7_group.command("inspect")
@_FILES
@_ZONE
@_CHARSET
@_PROFILES
@click.option("--reveal-identity", is_flag=True, default=False,
              help="Print patient ids unmasked (default: only the last 2 characters).")
def inspect_cmd(files: tuple[Path, ...], zone: str, charset: str, profiles_file: Path | None,
                reveal_identity: bool) -> None:
    """Print one JSON object per exam event found in FILES (nothing is stored).

    A message without events gives one object with "event": null; an unusable message one
    object with an "error" key.
    """
    opts = _options(zone, charset, profiles_file)
    for path in files:
        for _offset, raw in split_batch(path.read_bytes()):
            for row in rows_for(raw, opts, reveal_identity=reveal_identity):
                click.echo(json.dumps(row, ensure_ascii=False))


@hl7_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2575, show_default=True, type=click.IntRange(0, 65535))
@_ZONE
@_CHARSET
@_PROFILES
@click.option("--max-frame-bytes", default=DEFAULT_MAX_FRAME, show_default=True,
              type=click.IntRange(1024),
              help="Largest MLLP frame read as a message; a larger one is answered AR and "
                   "only its first 64 KiB and its length are stored.")
@click.option("--idle-timeout", default=DEFAULT_IDLE_TIMEOUT, show_default=True,
              type=click.FloatRange(0),
              help="Seconds without a byte from a sender (or without it reading its "
                   "answer) before its connection is closed; 0: never.")
@click.option("--max-connections", default=DEFAULT_MAX_CONNECTIONS, show_default=True,
              type=click.IntRange(1),
              help="Connections open at once; one more is closed at once (and logged).")
def listen_cmd(host: str, port: int, zone: str, charset: str, profiles_file: Path | None,
               max_frame_bytes: int, idle_timeout: float, max_connections: int) -> None:
    """Receive HL7 v2 over MLLP and store every message in the database (--db).

    Each message is acknowledged (AA) only after it is stored; bad ones get AE/AR with an ERR
    segment and are stored too. Stop with Ctrl-C or SIGTERM: the messages being stored are
    finished and answered, then a summary is printed and the exit status is 0.
    """
    from .mllp import MllpListener

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("alembic", "sqlalchemy"):  # the schema check on start-up is not news
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sink = _sql_sink()
    listener = MllpListener(sink, host=host, port=port,
                            opts=_options(zone, charset, profiles_file),
                            max_frame=max_frame_bytes, idle_timeout=idle_timeout or None,
                            max_connections=max_connections)

    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stopping.set)
        await listener.start()
        click.echo(f"listening for HL7 v2 (MLLP) on {host}:{listener.port}", err=True)
        serving = asyncio.create_task(listener.serve_forever())
        await stopping.wait()
        click.echo("stopping: finishing the messages in hand ...", err=True)
        await listener.stop()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    s = listener.stats
    click.echo(f"stopped: {s.connections} connections, {s.messages} messages "
               f"({', '.join(f'{k} {v}' for k, v in sorted(s.by_code.items())) or 'none'}); "
               f"{s.refused} connections refused, {s.idle_closed} closed idle, "
               f"{s.oversized} frames over the limit", err=True)


@hl7_group.command("import")
@_FILES
@_ZONE
@_CHARSET
@_PROFILES
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--no-progress", is_flag=True, default=False, help="Do not show a progress bar.")
def import_cmd(files: tuple[Path, ...], zone: str, charset: str, profiles_file: Path | None,
               batch_size: int, no_progress: bool) -> None:
    """Backfill: store every message of FILES in the database (--db), like the listener."""
    from .backfill import import_files

    opts = _options(zone, charset, profiles_file)
    sink = _sql_sink()
    summary = import_files(list(files), sink, opts, batch_size=batch_size,
                           progress=not no_progress)
    click.echo(summary.render())
    if summary.sink_failed:
        raise click.ClickException("the database refused some messages; see the log")


def _since(value: str | None, zone: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"not a date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm): "
                                     f"{value!r}", param_hint="--since") from None
        return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone))
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(zone))


@hl7_group.command("replay")
@click.option("--sender", default=None,
              help="Only messages of this sender: MSH-3^MSH-4, or MSH-3 alone.")
@click.option("--since", default=None,
              help="Only messages received on or after this date (YYYY-MM-DD, in --zone) "
                   "or time.")
@_ZONE
@_CHARSET
@_PROFILES
@click.option("--dry-run", is_flag=True, default=False,
              help="Say what would change; write nothing.")
def replay_cmd(sender: str | None, since: str | None, zone: str, charset: str,
               profiles_file: Path | None, dry_run: bool) -> None:
    """Read the stored raw messages again (after a sender profile was fixed) and apply what
    they give now. Nothing is applied twice: a message that gives what was applied for it
    before is left alone, and a second replay changes nothing."""
    from .replay import replay

    opts = _options(zone, charset, profiles_file)
    summary = replay(_sql_sink(), opts, sender=sender, since=_since(since, zone),
                     dry_run=dry_run)
    click.echo(("dry run, nothing written: " if dry_run else "") + summary.render())


@hl7_group.group("profile")
def profile_group() -> None:
    """Sender profiles (TOML): where each sender puts each value (docs/hl7v2.md)."""


@profile_group.command("suggest")
@_FILES
@_ZONE
@_CHARSET
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the proposal to this file (default: standard output).")
def suggest_cmd(files: tuple[Path, ...], zone: str, charset: str,
                output: Path | None) -> None:
    """Read a sample feed (FILES) and propose a profile per sender, with the fill rates of
    the candidate fields. Nothing is stored; no value of the feed is printed except the
    senders' names (MSH-3/MSH-4) and modality codes that map to no DICOM term."""
    from .suggest import render, sample

    opts = ExtractOptions(zone=_zone(zone), default_charset=charset)
    pieces = (raw for path in files for _, raw in split_batch(path.read_bytes()))
    text = render(sample(pieces, opts), ", ".join(p.name for p in files))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"proposal written to {output}", err=True)


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {zone!r}", param_hint="--zone") from None
