"""``hospital-complaints keys ...``: make, inspect and rotate the encryption keys.

One key ring encrypts personal data in events, attachments and plugins' tables, and keys the
seals of imaging evidence rows. Rotation: put a new key first (``keys rotate --new-key`` does
it for a key file), re-encrypt everything under it (``keys rotate``), check that nothing uses
the old key any more (``keys status``), and only then remove the old key.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError
from ..storage.keys import KeyRing
from .cases import format_option
from .context import get_app, get_state


@click.group("keys")
def keys_group() -> None:
    """Encryption keys of personal data: generate, status, rotate (加密密钥管理)."""


@keys_group.command("generate")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a new key file (mode 0600) instead of printing the key. An "
                   "existing file is never overwritten.")
def generate_cmd(path: Path | None) -> None:
    """Make a new random key (32 bytes, URL-safe base64), for HC_ENCRYPTION_KEYS or a key
    file (HC_ENCRYPTION_KEY_FILE)."""
    from ..storage.sql.config import create_key_file

    if path is None:
        click.echo(KeyRing.generate_key())
        return
    if not path.parent.is_dir():
        raise ConfigError(f"the folder {str(path.parent)!r} does not exist",
                          f"文件夹 {str(path.parent)!r} 不存在")
    if not create_key_file(path):
        raise ConfigError(f"{path} exists already; a key file is never overwritten (it may "
                          "be the only copy of the key your data needs)",
                          f"{path} 已存在；密钥文件不会被覆盖（它可能是数据唯一可用的密钥）")
    click.echo(f"wrote a new key to {path} (mode 0600) 已生成密钥文件")


@keys_group.command("status")
@format_option
def status_cmd(fmt: str) -> None:
    """Which keys are configured and which data uses each (no key is shown)."""
    app = get_app()
    ring = app.key_ring
    usage = app.audit.key_usage()
    if fmt == "json":
        click.echo(json.dumps({"current": ring.current_id, "configured": ring.ids,
                               "usage": usage}, ensure_ascii=False, indent=2))
        return
    click.echo(f"configured key ids (current first) 已配置密钥: {', '.join(ring.ids)}")
    unused = set(ring.ids[1:])
    for what, counts in usage.items():
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "none"
        click.echo(f"  {what}: {shown}")
        unused -= set(counts)
    missing = {k for counts in usage.values() for k in counts
               if not k.startswith("(") and k not in ring.ids}
    if missing:
        click.echo(f"MISSING keys (data cannot be read) 缺少密钥: {', '.join(sorted(missing))}")
    if unused:
        click.echo(f"old keys no data uses any more (may be removed) 可移除的旧密钥: "
                   f"{', '.join(sorted(unused))}")


@keys_group.command("rotate")
@click.option("--new-key", is_flag=True,
              help="First add a freshly generated key as the current key of the key file "
                   "(old keys stay after it), then re-encrypt.")
def rotate_cmd(new_key: bool) -> None:
    """Re-encrypt everything under the current (first) key: events' personal data,
    attachments (0.1 plaintext ones too), plugins' tables; and seal evidence rows with it."""
    state = get_state(click.get_current_context())
    app = state.get_app()
    if new_key:
        key_id = app.audit.add_new_key()
        app.close()
        state.app = None  # rebuilt with the new key ring
        app = state.get_app()
        click.echo(f"new current key {key_id} added to the key file; old keys kept after it")
    for what, n in app.audit.rotate().items():
        click.echo(f"  {what}: {n} re-encrypted under {app.key_ring.current_id}")
    click.echo("done; `hospital-complaints keys status` shows which old keys may now be removed")


def register_key_commands(cli: click.Group) -> None:
    cli.add_command(keys_group)
