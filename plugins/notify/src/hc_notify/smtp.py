"""E-mail over SMTP: STARTTLS (or implicit TLS) with the server's certificate verified, login
when configured, a plain-text and an HTML part from the zh/en templates.

The ``Message-ID`` is built from the event id (``<id@domain>``), so every attempt of one
delivery carries the same one and a mail system or reader can drop the repeat. The message is
delivered when the server accepted it (``250`` after DATA). A permanent refusal (5xx: unknown
recipients, message rejected) is ``DeliveryRefused``; a temporary one (4xx), a lost
connection or a failed login is retried. A connection is opened per delivery: SMTP servers
drop idle connections, and notifications are few.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import NoReturn

from hospital_complaints.plugin_api import Delivery, DeliveryRefused

from .base import TransportError
from .settings import EmailSettings
from .templates import Templates, normalise_language


class EmailNotifier:
    def __init__(self, settings: EmailSettings) -> None:
        assert settings.host is not None and settings.sender is not None
        self.settings = settings
        self.id = settings.id
        self.where = f"smtp://{settings.host}:{settings.port}"
        self.description = f"e-mail through {self.where} ({settings.tls})"
        self.event_types = settings.event_types
        self.max_attempts = settings.max_attempts
        self.templates = Templates(settings.template_dir, case_url=settings.case_url)
        self.domain = settings.sender.rsplit("@", 1)[1].strip("> ")

    def _context(self) -> ssl.SSLContext:
        ca = self.settings.ca_bundle
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def recipients(self, delivery: Delivery) -> list[str]:
        if delivery.recipient is not None:
            if not delivery.recipient.email:
                raise DeliveryRefused(f"{delivery.type} {delivery.id}: the recipient has no "
                                      "e-mail address 收件人没有电子邮件地址")
            return [delivery.recipient.email]
        if not self.settings.to:
            raise DeliveryRefused("no addressee configured (HC_NOTIFY_SMTP_TO) 未配置收件人")
        return list(self.settings.to)

    def message(self, delivery: Delivery) -> EmailMessage:
        if delivery.recipient is not None:
            languages: tuple[str, ...] = (normalise_language(delivery.recipient.language),)
        else:
            languages = self.settings.languages
        rendered = self.templates.render(delivery, languages, ("subject", "text", "html"))
        msg = EmailMessage()
        msg["Subject"] = " ".join(rendered.subject.split())[:250]
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.recipients(delivery))
        msg["Date"] = format_datetime(delivery.at)
        msg["Message-ID"] = f"<{delivery.id}@{self.domain}>"
        msg["X-HC-Event-Id"] = delivery.id
        msg["X-HC-Event-Type"] = delivery.type
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(rendered.text + "\n")
        lang = languages[0] if len(languages) == 1 else "zh"
        msg.add_alternative(
            f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{delivery.type}</title></head>\n<body>\n{rendered.html}\n</body></html>\n",
            subtype="html")
        return msg

    def deliver(self, delivery: Delivery) -> None:
        msg = self.message(delivery)
        s = self.settings
        try:
            client: smtplib.SMTP
            if s.tls == "tls":
                client = smtplib.SMTP_SSL(s.host or "", s.port, timeout=s.timeout_s,
                                          context=self._context())
            else:
                client = smtplib.SMTP(s.host or "", s.port, timeout=s.timeout_s)
            with client:
                client.ehlo()
                if s.tls == "starttls":
                    if not client.has_extn("starttls"):
                        raise TransportError(f"{self.where} does not offer STARTTLS; the "
                                             "message was not sent 邮件服务器不支持 STARTTLS")
                    client.starttls(context=self._context())
                    client.ehlo()
                if s.username is not None and s.password is not None:
                    client.login(s.username, s.password.get_secret_value())
                # recipients refused while others accepted it are not retried: a retry
                # would send it again to those who have it
                client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            self._refusal(codes[0] if codes else 550, "every recipient was refused")
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"{self.where} refused the login ({exc.smtp_code}) "
                                 "邮件服务器登录失败") from None
        except smtplib.SMTPResponseException as exc:
            self._refusal(exc.smtp_code, "the server refused the message")
        except (ssl.SSLError, ssl.CertificateError):
            raise TransportError(f"TLS verification of {self.where} failed 证书校验失败") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{self.where}: {type(exc).__name__} 邮件发送失败") from None

    def _refusal(self, code: int, what: str) -> NoReturn:
        if 400 <= code < 500:
            raise TransportError(f"{self.where}: {what} for now ({code}); will retry "
                                 f"邮件服务器暂时拒绝（{code}）")
        raise DeliveryRefused(f"{self.where}: {what} ({code}) 邮件服务器拒绝（{code}）")
