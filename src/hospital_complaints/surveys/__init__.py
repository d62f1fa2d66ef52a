"""Patient surveys: questionnaires as data (zh/en), answer checking, and their FHIR form.

The questionnaires shipped are ``questionnaires/post-exam.json`` (the NHS Friends and Family
Test question and imaging items: waiting, explanation, courtesy, privacy) and
``questionnaires/follow-up.json`` (回访: satisfaction 1-5). A site adds or replaces its own
with JSON files in ``HC_SURVEY_DIR``. Invitations, links and answers are kept by
``services/surveys.py`` (docs/surveys.md).
"""

from .model import (
    SCALE,
    Answers,
    Item,
    Option,
    Questionnaire,
    check_answers,
    load_questionnaires,
)

__all__ = ["SCALE", "Answers", "Item", "Option", "Questionnaire", "check_answers",
           "load_questionnaires"]
