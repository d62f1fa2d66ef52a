"""E-mail as the mail server and the reader see it, against a real SMTP server (aiosmtpd) on
loopback that requires STARTTLS and a login: the message arrives over TLS with a Message-ID
made of the event id, zh and en text and HTML with outside text escaped; refusals, a missing
STARTTLS, an unverified certificate and a wrong password end as the rules say."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hospital_complaints.plugin_api import ConfigError, Recipient
from hospital_complaints.testing import complaint_draft, make_app

from hc_notify.plugins import email as email_plugin
from hc_notify.testing import Certs, free_port

USER, PASSWORD = "hc-notify", "s3cr3t-smtp-pw"


@dataclass
class Mailbox:
    messages: list[tuple[list[str], EmailMessage, bool]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg, session.ssl is not None))
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = (isinstance(data, LoginPassword) and data.login == USER.encode()
          and data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class Smtp:
    mailbox: Mailbox
    port: int


@pytest.fixture
def smtp(certs: Certs) -> Iterator[Smtp]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            tls_context=certs.server_context(), require_starttls=True,
                            authenticator=_auth, auth_required=True)
    controller.start()
    yield Smtp(mailbox, port)
    controller.stop()


def app_with(smtp: Smtp, certs: Certs, **settings: Any) -> Any:
    section = {"host": "127.0.0.1", "port": smtp.port, "username": USER, "password": PASSWORD,
               "sender": "complaints@hospital.example", "to": "pr-office@hospital.example",
               "ca_bundle": str(certs.ca), "timeout_s": 5, **settings}
    return make_app(email_plugin, plugin_settings={"notify_email": section})


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


def test_each_event_is_mailed_over_starttls_with_its_id(smtp: Smtp, certs: Certs) -> None:
    app = app_with(smtp, certs, case_url="https://his.example/complaints/{reference}")
    ref = app.complaints.register(complaint_draft(subject="CT <b>等待</b> & 太久"),
                                  actor="clerk").reference
    assert deliver(app).delivered == 2
    events = app.complaints.history(ref)
    assert len(smtp.mailbox.messages) == 2
    rcpts, msg, over_tls = smtp.mailbox.messages[0]
    assert over_tls and rcpts == ["pr-office@hospital.example"]
    assert msg["Message-ID"] == f"<{events[0].event_id}@hospital.example>"
    assert msg["X-HC-Event-Type"] == "complaint_registered"
    assert "新投诉已登记" in msg["Subject"] and "complaint registered" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "投诉编号：" + ref in text and "Case: " + ref in text
    assert "CT <b>等待</b> & 太久" in text                      # plain text: as written
    assert "CT &lt;b&gt;等待&lt;/b&gt; &amp; 太久" in html       # HTML: escaped
    assert "<b>等待" not in html
    assert f"https://his.example/complaints/{ref}" in html
    assert "13812345678" not in text and "138****5678" in text  # masked


def test_a_survey_invitation_goes_to_the_patient_in_their_language(smtp: Smtp,
                                                                   certs: Certs) -> None:
    app = app_with(smtp, certs, event_types="survey_invitation")
    app.notifications.send_message(
        "survey_invitation", "exam:CT1",
        {"link": "https://survey.example/s/abc", "expires_at": "2026-12-04T09:00:00+08:00",
         "title": {"zh": "检查后满意度调查", "en": "After your exam"}},
        recipient=Recipient(name="Li Lei", email="li@patient.example", language="en"))
    assert deliver(app).delivered == 1
    rcpts, msg, _ = smtp.mailbox.messages[0]
    assert rcpts == ["li@patient.example"]
    text = msg.get_body(("plain",)).get_content()
    assert "Dear Li Lei" in text and "https://survey.example/s/abc" in text
    assert "until 2026-12-04 09:00" in text and msg["Subject"] == "After your exam"
    assert "您好" not in text


def test_a_refused_recipient_is_a_dead_letter_and_a_busy_one_is_retried(
        smtp: Smtp, certs: Certs) -> None:
    app = app_with(smtp, certs, to="nobody@hospital.example",
                   event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).dead == 1
    app = app_with(smtp, certs, to="busy@hospital.example", event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried == 1
    assert "(450)" in (app.notifications.deliveries()[0].last_error or "")


def test_a_wrong_password_is_retried_and_never_shown(smtp: Smtp, certs: Certs) -> None:
    app = app_with(smtp, certs, password="wr0ng-pw", event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried == 1
    error = app.notifications.deliveries()[0].last_error or ""
    assert "refused the login" in error and "wr0ng" not in error
    assert smtp.mailbox.messages == []


def test_an_unverified_certificate_is_not_trusted(smtp: Smtp, certs: Certs) -> None:
    app = app_with(smtp, certs, ca_bundle="", event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried == 1
    assert "TLS verification" in (app.notifications.deliveries()[0].last_error or "")
    assert smtp.mailbox.messages == []


def test_a_server_without_starttls_gets_nothing(certs: Certs) -> None:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = app_with(Smtp(mailbox, port), certs, event_types="complaint_registered")
        app.complaints.register(complaint_draft(), actor="clerk")
        assert deliver(app).retried == 1
        assert "STARTTLS" in (app.notifications.deliveries()[0].last_error or "")
        assert mailbox.messages == []
    finally:
        controller.stop()


def test_unencrypted_smtp_only_to_this_machine() -> None:
    with pytest.raises(ConfigError, match="HC_NOTIFY_SMTP_TLS"):
        make_app(email_plugin, plugin_settings={"notify_email": {
            "host": "mail.hospital.example", "tls": "none",
            "sender": "complaints@hospital.example", "to": "a@hospital.example"}})
    with pytest.raises(ConfigError, match="HC_NOTIFY_SMTP_FROM"):
        make_app(email_plugin, plugin_settings={"notify_email": {"host": "mail.example"}})
