"""``hospital-complaints survey ...``: questionnaires, invitations, results, FHIR export."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import IO

import click
from rich.table import Table

from .context import get_app
from .output import console as make_console


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day YYYY-MM-DD  日期格式应为 YYYY-MM-DD",
                                 param_hint=option) from None


@click.group("survey")
def survey_group() -> None:
    """Patient surveys: post-exam experience and complaint follow-up (回访).

    \b
    survey questionnaires            the questionnaires (built-in and HC_SURVEY_DIR)
    survey show ID [--language en]   one questionnaire's questions and answers
    survey invite --case REF | --exam ACCESSION
    survey run                       invite for exams reported / kept waiting since last run
    survey results [--by modality|department|questionnaire] [--from D] [--to D]
    survey export [--format jsonl|fhir] [--from D] [--to D] OUT
    """


@survey_group.command("questionnaires")
def questionnaires_cmd() -> None:
    """The questionnaires this site uses."""
    table = Table("id", "for 对象", "version 版本", "title 标题", "questions 题数")
    for q in get_app().surveys.questionnaires.values():
        table.add_row(q.id, q.subject, q.version, f"{q.title.zh} / {q.title.en}",
                      str(len(q.items)))
    make_console().print(table)


@survey_group.command("show")
@click.argument("questionnaire")
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def show_cmd(questionnaire: str, language: str) -> None:
    """A questionnaire's questions and the answers allowed."""
    q = get_app().surveys.questionnaire(questionnaire)
    click.echo(f"{q.title.get(language)}  ({q.id} v{q.version}, {q.subject})")
    for item in q.items:
        mark = "*" if item.required else " "
        click.echo(f"{mark} {item.link_id}: {item.text.get(language)}")
        for o in item.choices():
            click.echo(f"      {o.code}  {o.label(language)}")
        if item.kind == "text":
            click.echo(f"      (text, at most {item.max_length} characters)")


@survey_group.command("invite")
@click.option("--case", "reference", default=None, help="a case answered or closed")
@click.option("--exam", "accession", default=None, help="an exam (accession number)")
@click.option("--trigger", default=None,
              help="recorded reason (default: responded for a case, report_final for an exam)")
def invite_cmd(reference: str | None, accession: str | None, trigger: str | None) -> None:
    """Invite now (normally the worker does it). The link goes to the patient through the
    notifiers; it is never shown here."""
    if (reference is None) == (accession is None):
        raise click.UsageError("give --case REF or --exam ACCESSION  请指定 --case 或 --exam")
    surveys = get_app().surveys
    if reference is not None:
        result = surveys.invite_for_case(reference, trigger or "responded")
    else:
        exam = get_app().imaging.exam(accession or "")
        result = surveys.invite_for_exam(exam.accession_number, trigger or "report_final",
                                         exam.modality)
    if result.invitation is None:
        click.echo(f"not invited: {result.skipped} 未发出邀请")
        return
    inv = result.invitation
    click.echo(f"invited {inv.id}: {inv.questionnaire} for {inv.subject_kind} {inv.subject}; "
               "the link is sent through the notifiers 已发出问卷邀请")


@survey_group.command("run")
def run_cmd() -> None:
    """Invite for exams whose final report or long wait came since the last run."""
    made = get_app().surveys.run_exam_triggers()
    for trigger, n in sorted(made.items()):
        click.echo(f"{trigger}: {n} invitations 已邀请 {n} 人")


@survey_group.command("results")
@click.option("--by", type=click.Choice(["modality", "department", "questionnaire"]),
              default="modality", show_default=True)
@click.option("--from", "start", default=None, help="first day YYYY-MM-DD")
@click.option("--to", "end", default=None, help="last day YYYY-MM-DD")
@click.option("--questionnaire", default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def results_cmd(by: str, start: str | None, end: str | None, questionnaire: str | None,
                fmt: str) -> None:
    """Response rate and satisfaction (1-5; share positive = 4-5) per modality or department."""
    rows = get_app().surveys.stats(by, _day(start, "--from"), _day(end, "--to"), questionnaire)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(by, "invited 邀请", "answered 回复", "rate 回复率", "mean 平均",
                  "positive 好评率", "1", "2", "3", "4", "5")
    for r in rows:
        table.add_row(str(r[by]), str(r["invited"]), str(r["responses"]),
                      _pct(r["response_rate"]), "-" if r["mean"] is None else f"{r['mean']:.2f}",
                      _pct(r["positive_share"]), *(str(r["scores"][k]) for k in "12345"))
    make_console().print(table)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


@survey_group.command("export")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "fhir"]), default="jsonl",
              show_default=True, help="fhir: NDJSON of R4 QuestionnaireResponse")
@click.option("--from", "start", default=None, help="first day YYYY-MM-DD")
@click.option("--to", "end", default=None, help="last day YYYY-MM-DD")
@click.option("--questionnaire", default=None)
def export_cmd(out: str, fmt: str, start: str | None, end: str | None,
               questionnaire: str | None) -> None:
    """Answers (no identity: a survey never had it), one JSON object per line."""
    surveys = get_app().surveys
    first, last = _day(start, "--from"), _day(end, "--to")
    stream: IO[str] = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
    n = 0
    try:
        if fmt == "fhir":
            for resource in surveys.fhir_responses(first, last, questionnaire):
                stream.write(json.dumps(resource, ensure_ascii=False) + "\n")
                n += 1
        else:
            for r in surveys.responses(first, last, questionnaire):
                stream.write(json.dumps({
                    "invitation": r.invitation_id, "questionnaire": r.questionnaire,
                    "version": r.questionnaire_version, "subject_kind": r.subject_kind,
                    "subject": r.subject, "modality": r.modality, "department": r.department,
                    "answered_s": r.answered_s, "satisfaction": r.satisfaction,
                    "answers": r.answers}, ensure_ascii=False) + "\n")
                n += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    click.echo(f"exported {n} responses 已导出 {n} 份问卷", err=True)


def register_survey_commands(cli: click.Group) -> None:
    cli.add_command(survey_group)
