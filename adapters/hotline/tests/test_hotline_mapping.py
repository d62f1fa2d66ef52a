"""Mapping files: the example is complete and valid; a wrong one is reported key by key, in
Chinese and English; the settings and the secrets; token and basic sign-in against the
stand-in platform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints.plugin_api import ConfigError
from hospital_complaints.testing import make_app, run_cli

from hc_hotline import EXAMPLE, load_mapping, plugin
from hc_hotline.mapping import PUSH_EVENTS, from_data, read_data
from hc_hotline.records import api_getter, to_order


def test_the_example_is_complete() -> None:
    m = load_mapping(EXAMPLE)
    assert m.id == "qingchuan-12345" and m.platform == "12345"
    assert m.push_kinds == list(PUSH_EVENTS)
    assert m.codes.platform_code("return_reason", "duplicate") == "R04"
    assert m.file is not None and m.file.columns["ticket"] == "工单编号"


def test_check_mapping_command(tmp_path: Path, kit: Any) -> None:
    app = make_app(plugin)
    ok = run_cli(app, "hotline", "check-mapping", str(EXAMPLE))
    assert ok.exit_code == 0, ok.output
    assert "connector qingchuan-12345" in ok.output and "映射文件有效" in ok.output

    data = read_data(EXAMPLE)
    data["auth"]["scheme"] = "oauth"
    data["envelope"]["succes_field"] = "code"
    data["push"]["reply"]["fields"]["handleResult"] = "verdict"
    data["orders"]["paging"] = "cursor"
    bad = kit.write_mapping(tmp_path, data, "bad.json")
    result = run_cli(app, "hotline", "check-mapping", str(bad))
    assert result.exit_code == 1
    out = result.output
    assert "auth.scheme" in out and "'none', 'token', 'basic' or 'hmac'" in out
    assert "envelope.succes_field: unknown key" in out and "未知的键" in out
    assert "orders: Value error" not in out and "orders: paging cursor needs cursor_param" in out
    assert "Traceback" not in out


def test_cross_checks_name_the_key() -> None:
    data = read_data(EXAMPLE)
    data["push"]["reply"]["fields"]["handleResult"] = "verdict"
    del data["codes"]["return_reason"]["R04"]
    with pytest.raises(ConfigError) as err:
        from_data(data, "x.toml")
    assert "push.reply.fields.handleResult: unknown source 'verdict'" in err.value.en
    assert "codes.return_reason: no platform code for duplicate" in err.value.en
    assert err.value.zh is not None and "未知的取值来源" in err.value.zh


def test_unreadable_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("id = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_mapping(broken)
    yaml = tmp_path / "m.yaml"
    yaml.write_text("id: x", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        load_mapping(yaml)


def test_a_record_read_through_the_mapping() -> None:
    m = load_mapping(EXAMPLE)
    record = {"orderNo": 20261120001, "acceptTime": "20261120083000",
              "caller": {"name": "王五", "phone": "13900002222", "allowCallback": "N"},
              "appealType": "02", "content": "咨询 MRI 预约", "deadline": 1795000000000}
    order = to_order(m, api_getter(m, record))
    assert order.ticket == "20261120001"
    assert order.raw["accepted_at"] == "2026-11-20T08:30:00+08:00"
    assert order.raw["category"] == "consultation"  # help (求助) until the core has it
    assert order.raw["consent_to_callback"] is False
    assert order.due is not None and order.due.year == 2026


def test_settings_need_the_secret_and_hide_it(tmp_path: Path, kit: Any) -> None:
    path = kit.write_mapping(tmp_path, kit.mapping_data("https://12345.example/api"))
    with pytest.raises(ConfigError) as err:
        app = make_app(plugin, plugin_settings={"hotline": {"mappings": [str(path)]}})
        app.worker()
    assert "HC_HOTLINE_SECRETS" in err.value.en and "hmac" in err.value.en

    with pytest.raises(ConfigError) as bad:
        make_app(plugin, plugin_settings={"hotline": {"secrets": "{not json " + kit.SECRET}})
    assert "HC_HOTLINE_SECRETS" in bad.value.en and kit.SECRET not in str(bad.value)


@pytest.mark.parametrize("scheme", ["token", "basic"])
def test_token_and_basic_sign_in(scheme: str, tmp_path: Path, kit: Any) -> None:
    platform = kit.StandInPlatform(scheme=scheme).start()
    try:
        auth: dict[str, Any] = {"scheme": scheme}
        if scheme == "token":
            auth["prefix"] = "Bearer "
        else:
            auth["username"] = "hosp0231"
        path = kit.write_mapping(tmp_path, kit.mapping_data(platform.base_url, auth=auth))
        secrets = json.dumps({"qingchuan-12345": kit.SECRET})
        settings = {"mappings": [str(path)], "secrets": secrets}
        app = make_app(plugin, sql=tmp_path, plugin_settings={"hotline": settings})
        platform.dispatch("QC-AUTH-1", "2026-11-20 08:30:00")
        report = app.worker(jobs={"hotline:qingchuan-12345"}).run(once=True)
        assert "1 new" in report.jobs["hotline:qingchuan-12345"][0]
        assert platform.auth_failures == 0
    finally:
        platform.stop()
