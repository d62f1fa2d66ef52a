"""``hospital-complaints keys ...``: make, inspect and rotate the encryption keys.

One key ring encrypts personal data in events, attachments and plugins' tables, and keys the
seals of imaging evidence rows. Rotation: put a new key first (``keys rotate --new-key`` does
it for a key file), re-encrypt everything under it (``keys rotate``), check that nothing uses
the old key any more (``keys status``), and only then remove the old key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ..storage.blobs import FileBlobStore
from ..storage.keys import ENV_VAR, KeyRing
from .cases import format_option
from .context import get_state, get_store


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


def _blob_store(ring: KeyRing) -> FileBlobStore:
    return FileBlobStore(os.environ.get("HC_BLOB_DIR", "hospital-complaints-blobs"), ring)


def _usage(ctx: click.Context) -> dict[str, dict[str, int]]:
    """Key id -> rows, per kind of data."""
    import sqlalchemy as sa

    from ..storage.sql.seals import evidence_tables

    store = get_store(ctx)
    e = store.tables.events
    usage: dict[str, dict[str, int]] = {}
    with store.read() as conn:
        usage["events"] = {str(k): int(n) for k, n in conn.execute(
            sa.select(e.c.key_id, sa.func.count()).where(e.c.key_id.is_not(None))
            .group_by(e.c.key_id))}
        seals: dict[str, int] = {}
        for table in evidence_tables(store):
            key = sa.func.substr(table.c.seal, 1, 8)
            for k, n in conn.execute(sa.select(key, sa.func.count()).group_by(key)):
                name = "(unsealed)" if k is None else str(k)
                seals[name] = seals.get(name, 0) + int(n)
        usage["evidence row seals"] = seals
    blobs: dict[str, int] = {}
    store_blobs = _blob_store(store.key_ring)
    for blob in store_blobs.stored():
        k = store_blobs.key_id_of(blob) or "(plaintext, release 0.1)"
        blobs[k] = blobs.get(k, 0) + 1
    usage["attachments"] = blobs
    for data in get_state(ctx).plugins.encrypted_data().values():
        usage[data.description] = data.key_ids(store)
    return usage


@keys_group.command("status")
@format_option
def status_cmd(fmt: str) -> None:
    """Which keys are configured and which data uses each (no key is shown)."""
    ctx = click.get_current_context()
    ring = get_store(ctx).key_ring
    usage = _usage(ctx)
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
    import base64

    from ..storage.sql.config import (
        database_url,
        key_file_path,
        read_key_file,
        replace_key_file,
    )
    from ..storage.sql.seals import reseal

    ctx = click.get_current_context()
    state = get_state(ctx)
    if new_key:
        url = database_url(state.db_url)
        path = key_file_path(url)
        if path is None:
            raise ConfigError(
                f"the keys come from {ENV_VAR}, which this command cannot change: run `keys "
                f"generate`, put the new key first in {ENV_VAR} (old keys after it), then run "
                "`keys rotate` without --new-key",
                f"密钥来自环境变量 {ENV_VAR}，本命令无法修改：请先运行 keys generate，把新密钥放在 "
                f"{ENV_VAR} 的最前面（旧密钥在后），再运行 keys rotate")
        get_store(ctx)  # the database opens with the old ring before anything changes
        old = read_key_file(path)
        fresh = KeyRing.generate_key()
        replace_key_file(path, [fresh, *(base64.urlsafe_b64encode(k).decode("ascii")
                                         for k in old.keys)])
        ring = read_key_file(path)
        state.store = None  # reopen with the new ring
        state.service = None
        click.echo(f"new current key {ring.current_id} added to {path}; old keys kept after it")
    store = get_store(ctx)
    parts: dict[str, Any] = {"events": store.rotate()}
    parts["evidence row seals"] = reseal(store)
    blobs = _blob_store(store.key_ring)
    parts["attachments"] = sum(blobs.rewrite(k) for k in list(blobs.stored()))
    for data in state.plugins.encrypted_data().values():
        parts[data.description] = data.rotate(store)
    for what, n in parts.items():
        click.echo(f"  {what}: {n} re-encrypted under {store.key_ring.current_id}")
    click.echo("done; `hospital-complaints keys status` shows which old keys may now be removed")


def register_key_commands(cli: click.Group) -> None:
    cli.add_command(keys_group)
