"""Each transport's settings section (``hc_register_settings``): ``[plugins.notify_webhook]``
... in the settings file, or the notify variables below. A transport registers its
notifier only when its main key is set (the webhook's ``url``, the SMTP ``host`` ...), so
installing this distribution changes nothing until a site configures a transport.

Secrets (webhook secrets, passwords, tokens, a WeCom robot URL's key) are ``SecretStr``: never
printed, and a bad one is reported naming its variable, never its value.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from hospital_complaints.plugin_api import PluginSettings
from pydantic import Field, SecretStr, field_validator, model_validator

from .base import TransportSettings, is_loopback, parse_json_object, secret_error, split_list
from .signing import BadSecret, decode_secret


def _https_unless_loopback(url: str | None, var: str, allow_http: bool) -> str | None:
    if url is None:
        return None
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{var} must be an https:// URL")
    if url.startswith("http://") and not (allow_http or is_loopback(url)):
        raise ValueError(f"{var} must be https:// (plain http only to this machine, or with "
                         "allow_http = true)")
    return url


class _HumanText(TransportSettings):
    """Keys of the transports that send text for people (e-mail, WeCom, SMS)."""

    #: message languages, in order (``zh``, ``en`` or both)
    languages: tuple[str, ...] = ("zh", "en")
    #: a folder of the site's own templates (``zh/<type>.j2`` ...), searched first
    template_dir: Path | None = None
    #: a link to a case in the HIS, ``{reference}`` replaced
    case_url: str | None = None

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, v: Any) -> Any:
        from .templates import languages_of

        return languages_of(v)

    @field_validator("template_dir", "case_url", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("template_dir")
    @classmethod
    def _folder(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_dir():
            raise ValueError(f"the template folder {str(v)!r} does not exist")
        return v


def secret_json(value: Any, var: str, section: str) -> Any:
    """Headers (they hold tokens): a JSON object of strings; a bad one is reported without
    its text."""
    try:
        found = parse_json_object(value, "headers")
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in found.items()):
        raise secret_error(var, section, "headers",
                           'expected a JSON object of strings, {"Authorization": "Bearer ..."}',
                           '应为字符串组成的 JSON 对象，如 {"Authorization": "Bearer ..."}')
    return found


# -- webhook -------------------------------------------------------------------------------------

WEBHOOK_ENV = {"url": "HC_NOTIFY_WEBHOOK_URL", "secrets": "HC_NOTIFY_WEBHOOK_SECRETS",
               "rotation_ends": "HC_NOTIFY_WEBHOOK_ROTATION_ENDS",
               "event_types": "HC_NOTIFY_WEBHOOK_EVENTS",
               "timeout_s": "HC_NOTIFY_WEBHOOK_TIMEOUT_S",
               "ca_bundle": "HC_NOTIFY_WEBHOOK_CA_BUNDLE",
               "headers": "HC_NOTIFY_WEBHOOK_HEADERS"}


class WebhookSettings(TransportSettings):
    """``[plugins.notify_webhook]``: a receiver of signed JSON (Standard Webhooks)."""

    id: str = Field(default="webhook", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    url: str | None = None
    #: ``whsec_...`` secrets; every one signs (rotation: add the new one first, remove the old
    #: one when the receiver has switched)
    secrets: tuple[SecretStr, ...] = ()
    #: after this instant only the first secret signs (ends a rotation window by itself)
    rotation_ends: datetime | None = None
    ca_bundle: Path | None = None
    allow_http: bool = False
    #: extra headers (``Authorization``...), a JSON object in the variable
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url", "ca_bundle", "rotation_ends", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("secrets", mode="before")
    @classmethod
    def _secrets(cls, v: Any) -> Any:
        items = [s.get_secret_value() if isinstance(s, SecretStr) else s
                 for s in split_list(v) or ()]
        for i, s in enumerate(items, 1):
            try:
                decode_secret(str(s))
            except BadSecret as exc:
                raise secret_error(
                    WEBHOOK_ENV["secrets"], "notify_webhook", "secrets",
                    f"secret {i} is not a Standard Webhooks secret: {exc}; make one with "
                    "`hospital-complaints notify secret`",
                    f"第 {i} 个密钥不是 whsec_ 开头、24-64 字节的 Standard Webhooks 密钥") from None
        return items

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, v: Any) -> Any:
        return secret_json(v, WEBHOOK_ENV["headers"],
                           "notify_webhook")

    @field_validator("rotation_ends")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("rotation_ends needs a time zone, e.g. 2026-12-01T00:00:00+08:00")
        return v

    @model_validator(mode="after")
    def _complete(self) -> WebhookSettings:
        _https_unless_loopback(self.url, WEBHOOK_ENV["url"], self.allow_http)
        if self.url and not self.secrets:
            raise secret_error(WEBHOOK_ENV["secrets"], "notify_webhook", "secrets",
                               "a webhook needs at least one whsec_ secret to sign with",
                               "Webhook 需要至少一个 whsec_ 签名密钥")
        return self


# -- e-mail --------------------------------------------------------------------------------------

EMAIL_ENV = {"host": "HC_NOTIFY_SMTP_HOST", "port": "HC_NOTIFY_SMTP_PORT",
             "tls": "HC_NOTIFY_SMTP_TLS", "username": "HC_NOTIFY_SMTP_USERNAME",
             "password": "HC_NOTIFY_SMTP_PASSWORD", "sender": "HC_NOTIFY_SMTP_FROM",
             "to": "HC_NOTIFY_SMTP_TO", "event_types": "HC_NOTIFY_SMTP_EVENTS",
             "languages": "HC_NOTIFY_SMTP_LANGUAGES",
             "template_dir": "HC_NOTIFY_SMTP_TEMPLATE_DIR",
             "ca_bundle": "HC_NOTIFY_SMTP_CA_BUNDLE", "case_url": "HC_NOTIFY_SMTP_CASE_URL"}


class EmailSettings(_HumanText):
    """``[plugins.notify_email]``: e-mail over SMTP, STARTTLS required by default."""

    id: str = Field(default="email", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` (default), ``tls`` (implicit, port 465) or ``none`` (this machine only)
    tls: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str | None = None
    #: addresses that receive events (messages go to their recipient's address)
    to: tuple[str, ...] = ()
    ca_bundle: Path | None = None

    @field_validator("host", "username", "password", "sender", "ca_bundle", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> Any:
        return split_list(v)

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.host is None:
            return self
        if not self.sender or "@" not in self.sender:
            raise ValueError(f"{EMAIL_ENV['sender']}: a sender address is needed, e.g. "
                             "complaints@hospital.example")
        bad = [a for a in self.to if "@" not in a]
        if bad:
            raise ValueError(f"{EMAIL_ENV['to']}: {len(bad)} entries are not e-mail addresses")
        if self.tls == "none" and not is_loopback(f"smtp://{self.host}"):
            raise ValueError(f"{EMAIL_ENV['tls']}=none is allowed only for a server on this "
                             "machine; use starttls or tls")
        if (self.username is None) != (self.password is None):
            raise ValueError(f"{EMAIL_ENV['username']} and {EMAIL_ENV['password']} go together")
        return self


# -- AMQP ----------------------------------------------------------------------------------------

AMQP_ENV = {"url": "HC_NOTIFY_AMQP_URL", "exchange": "HC_NOTIFY_AMQP_EXCHANGE",
            "routing_key": "HC_NOTIFY_AMQP_ROUTING_KEY",
            "event_types": "HC_NOTIFY_AMQP_EVENTS", "timeout_s": "HC_NOTIFY_AMQP_TIMEOUT_S",
            "ca_bundle": "HC_NOTIFY_AMQP_CA_BUNDLE"}


class AmqpSettings(TransportSettings):
    """``[plugins.notify_amqp]``: RabbitMQ (AMQP 0-9-1) with publisher confirms."""

    id: str = Field(default="amqp", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    #: ``amqp://user:password@host:5672/vhost`` or ``amqps://...``
    url: SecretStr | None = None
    exchange: str = "hospital_complaints"
    exchange_type: Literal["topic", "direct", "fanout", "headers"] = "topic"
    #: declare the exchange (durable) on connecting; false: it must exist
    declare: bool = True
    #: ``{type}`` is replaced by the event type
    routing_key: str = "complaint.{type}"
    #: a message no queue takes is not delivered (retried); false: it is dropped by the broker
    mandatory: bool = True
    heartbeat_s: int = Field(default=30, ge=0, le=3600)
    ca_bundle: Path | None = None

    @field_validator("url", "ca_bundle", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith(("amqp://", "amqps://")):
            raise secret_error(AMQP_ENV["url"], "notify_amqp", "url",
                               "expected amqp://user:password@host:5672/vhost or amqps://...",
                               "应为 amqp:// 或 amqps:// 地址")
        return v


# -- NATS ----------------------------------------------------------------------------------------

NATS_ENV = {"servers": "HC_NOTIFY_NATS_SERVERS", "subject": "HC_NOTIFY_NATS_SUBJECT",
            "stream": "HC_NOTIFY_NATS_STREAM", "event_types": "HC_NOTIFY_NATS_EVENTS",
            "timeout_s": "HC_NOTIFY_NATS_TIMEOUT_S", "token": "HC_NOTIFY_NATS_TOKEN",
            "user": "HC_NOTIFY_NATS_USER", "password": "HC_NOTIFY_NATS_PASSWORD",
            "ca_bundle": "HC_NOTIFY_NATS_CA_BUNDLE"}


class NatsSettings(TransportSettings):
    """``[plugins.notify_nats]``: NATS JetStream, publish acknowledged by the stream."""

    id: str = Field(default="nats", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    servers: tuple[str, ...] = ()
    #: ``{type}`` is replaced by the event type
    subject: str = "hospital_complaints.{type}"
    #: if set, the stream is created when missing (subjects: the subject's prefix + ``>``)
    stream: str | None = Field(default=None, pattern=r"^$|^[A-Za-z0-9_-]{1,64}$")
    token: SecretStr | None = None
    user: str | None = None
    password: SecretStr | None = None
    ca_bundle: Path | None = None

    @field_validator("servers", mode="before")
    @classmethod
    def _servers(cls, v: Any) -> Any:
        return split_list(v)

    @field_validator("stream", "token", "user", "password", "ca_bundle", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        if not v or " " in v or "*" in v or ">" in v:
            raise ValueError("subject: a NATS subject without spaces or wildcards, "
                             "e.g. hospital_complaints.{type}")
        return v


# -- WeCom ---------------------------------------------------------------------------------------

WECOM_ENV = {"url": "HC_NOTIFY_WECOM_URL", "msgtype": "HC_NOTIFY_WECOM_MSGTYPE",
             "event_types": "HC_NOTIFY_WECOM_EVENTS", "languages": "HC_NOTIFY_WECOM_LANGUAGES",
             "template_dir": "HC_NOTIFY_WECOM_TEMPLATE_DIR",
             "mentioned_mobiles": "HC_NOTIFY_WECOM_MENTION",
             "ca_bundle": "HC_NOTIFY_WECOM_CA_BUNDLE", "case_url": "HC_NOTIFY_WECOM_CASE_URL"}


class WecomSettings(_HumanText):
    """``[plugins.notify_wecom]``: a WeCom (企业微信) group robot."""

    id: str = Field(default="wecom", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    #: the robot's webhook address, key included
    #: (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...``)
    url: SecretStr | None = None
    msgtype: Literal["markdown", "text"] = "markdown"
    #: mobiles to @ in ``text`` messages (``@all`` for everyone)
    mentioned_mobiles: tuple[str, ...] = ()
    ca_bundle: Path | None = None
    allow_http: bool = False

    @field_validator("url", "ca_bundle", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("mentioned_mobiles", mode="before")
    @classmethod
    def _mobiles(cls, v: Any) -> Any:
        return split_list(v)

    @model_validator(mode="after")
    def _complete(self) -> WecomSettings:
        if self.url is not None:
            try:
                _https_unless_loopback(self.url.get_secret_value(), WECOM_ENV["url"],
                                       self.allow_http)
            except ValueError as exc:
                raise secret_error(WECOM_ENV["url"], "notify_wecom", "url", str(exc),
                                   "企业微信机器人地址应为 https:// 地址") from None
        return self


# -- SMS -----------------------------------------------------------------------------------------

SMS_ENV = {"url": "HC_NOTIFY_SMS_URL", "method": "HC_NOTIFY_SMS_METHOD",
           "headers": "HC_NOTIFY_SMS_HEADERS", "body": "HC_NOTIFY_SMS_BODY",
           "body_format": "HC_NOTIFY_SMS_BODY_FORMAT", "to": "HC_NOTIFY_SMS_TO",
           "success_status": "HC_NOTIFY_SMS_SUCCESS_STATUS",
           "success_field": "HC_NOTIFY_SMS_SUCCESS_FIELD",
           "success_values": "HC_NOTIFY_SMS_SUCCESS_VALUES",
           "refuse_values": "HC_NOTIFY_SMS_REFUSE_VALUES",
           "event_types": "HC_NOTIFY_SMS_EVENTS", "languages": "HC_NOTIFY_SMS_LANGUAGES",
           "template_dir": "HC_NOTIFY_SMS_TEMPLATE_DIR", "ca_bundle": "HC_NOTIFY_SMS_CA_BUNDLE"}

DEFAULT_SMS_BODY = '{"phone": "{{ phone }}", "text": "{{ text }}", "id": "{{ key }}"}'


class SmsSettings(_HumanText):
    """``[plugins.notify_sms]``: an SMS gateway's HTTP API, described as a template."""

    id: str = Field(default="sms", pattern=r"^[a-z][a-z0-9_.:-]{0,62}$")
    url: SecretStr | None = None
    method: Literal["POST", "PUT", "GET"] = "POST"
    #: header name -> value template (``{"Authorization": "Bearer ..."}``), a JSON object
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    #: the request body, a Jinja template of the site (``phone``, ``text``, ``key``, ``id``,
    #: ``type``, ``reference``); values are escaped for ``body_format``
    body: str = DEFAULT_SMS_BODY
    body_format: Literal["json", "form", "text"] = "json"
    #: phones that receive events (messages go to their recipient's phone)
    to: tuple[SecretStr, ...] = ()
    #: HTTP statuses that mean sent (default 200-299)
    success_status: tuple[int, ...] = ()
    #: a field of the JSON answer (dotted path, ``Response.Code``) and the values that mean
    #: sent; unset: the status decides
    success_field: str | None = None
    success_values: tuple[str, ...] = ()
    #: values of that field that mean "never" (bad number, blocked): a dead letter at once;
    #: any other value is retried
    refuse_values: tuple[str, ...] = ()
    ca_bundle: Path | None = None
    allow_http: bool = False
    languages: tuple[str, ...] = ("zh",)

    @field_validator("url", "ca_bundle", "success_field", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if v == "" else v

    @field_validator("to", "success_values", "refuse_values", "success_status", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return split_list(v)

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, v: Any) -> Any:
        return secret_json(v, SMS_ENV["headers"], "notify_sms")

    @model_validator(mode="after")
    def _complete(self) -> SmsSettings:
        if self.url is not None:
            try:
                _https_unless_loopback(self.url.get_secret_value(), SMS_ENV["url"],
                                       self.allow_http)
            except ValueError as exc:
                raise secret_error(SMS_ENV["url"], "notify_sms", "url", str(exc),
                                   "短信网关地址应为 https:// 地址") from None
        if self.success_values and not self.success_field:
            raise ValueError(f"{SMS_ENV['success_values']} needs {SMS_ENV['success_field']}")
        if self.body != DEFAULT_SMS_BODY:  # the default is valid (tested): no Jinja at start
            check_body_template(self.body)
        return self


#: what the SMS body template may use
SMS_BODY_VARIABLES = {"phone": "13800000000", "text": "t", "key": "k", "id": "i",
                      "type": "complaint_registered", "reference": "HC-20260101-0001"}


def check_body_template(body: str) -> None:
    """The SMS body must be valid Jinja using only :data:`SMS_BODY_VARIABLES`."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    try:
        env.from_string(body).render(**SMS_BODY_VARIABLES)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{SMS_ENV['body']}: not a valid template (line {exc.lineno}: "
                         f"{exc.message})") from None
    except jinja2.TemplateError as exc:
        raise ValueError(f"{SMS_ENV['body']}: {exc}; the template may use "
                         f"{', '.join(SMS_BODY_VARIABLES)}") from None


# -- the declarations ----------------------------------------------------------------------------

DECLARATIONS = {
    "notify_webhook": PluginSettings(
        id="notify_webhook", model=WebhookSettings, env=WEBHOOK_ENV,
        description="signed webhooks (Standard Webhooks) 签名 Webhook"),
    "notify_email": PluginSettings(
        id="notify_email", model=EmailSettings, env=EMAIL_ENV,
        description="e-mail over SMTP with STARTTLS 电子邮件"),
    "notify_amqp": PluginSettings(
        id="notify_amqp", model=AmqpSettings, env=AMQP_ENV,
        description="RabbitMQ with publisher confirms 消息队列"),
    "notify_nats": PluginSettings(
        id="notify_nats", model=NatsSettings, env=NATS_ENV,
        description="NATS JetStream with publish acks 消息流"),
    "notify_wecom": PluginSettings(
        id="notify_wecom", model=WecomSettings, env=WECOM_ENV,
        description="WeCom group robot 企业微信群机器人"),
    "notify_sms": PluginSettings(
        id="notify_sms", model=SmsSettings, env=SMS_ENV,
        description="SMS gateway over HTTP 短信网关"),
}


def section(app: Any, name: str) -> Any:
    """A transport's validated section from the application (defaults without one)."""
    model = DECLARATIONS[name].model
    if app is None:
        return model()
    config = app.plugin_config(name)
    return config if isinstance(config, model) else model.model_validate(config)
