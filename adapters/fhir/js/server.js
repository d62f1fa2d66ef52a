'use strict';
// A real FHIR R4 server for tests: Medplum's FhirRouter over a MemoryRepository, behind
// Node's http on 127.0.0.1. Every resource written (alone or inside a transaction/batch
// Bundle) is first checked by validateResource and FHIR.js; a bad one gets 400 with an
// OperationOutcome. Prints {"port": N} on stdout once listening (port 0 = a free one).
// Options: --token T requires "Authorization: Bearer T"; --fail-first N answers the first
// N requests with 503 (to test retries).
const http = require('http');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');
const { errorsOf, load, validate } = require('./common');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = Number(opt('--port', '0'));
const token = opt('--token', '');
let failFirst = Number(opt('--fail-first', '0'));
const BASE = '/fhir/R4/';

load();
const router = new FhirRouter();
const repo = new MemoryRepository();

function outcome(status, code, text, expression) {
  const issue = { severity: 'error', code, details: { text } };
  if (expression) issue.expression = [expression];
  return [status, { resourceType: 'OperationOutcome', issue: [issue] }];
}

function invalid(resource) {
  const issues = [];
  const check = (res, prefix) => {
    for (const e of errorsOf(validate(res))) {
      issues.push({ severity: 'error', code: 'invalid', details: { text: e.message }, expression: [prefix + e.path] });
    }
  };
  if (resource && resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    check({ ...resource, entry: resource.entry.map(({ resource: _r, ...rest }) => rest) }, '');
    resource.entry.forEach((e, n) => { if (e.resource) check(e.resource, `Bundle.entry[${n}].resource: `); });
  } else if (resource) {
    check(resource, '');
  }
  return issues.length ? { resourceType: 'OperationOutcome', issue: issues } : null;
}

function statusOf(oo) {
  const code = oo && oo.issue && oo.issue[0] && oo.issue[0].code;
  const map = { 'not-found': 404, invalid: 400, structure: 400, required: 400, value: 400,
    forbidden: 403, security: 401, conflict: 409, duplicate: 409, 'not-supported': 400, processing: 422 };
  if (oo && oo.id === 'created') return 201;
  if (oo && (oo.id === 'ok' || oo.id === 'allok' || oo.id === 'updated')) return 200;
  return map[code] || (code === 'informational' ? 200 : 400);
}

async function handle(req, body) {
  if (failFirst > 0) { failFirst -= 1; return outcome(503, 'transient', 'temporarily unavailable (test)'); }
  if (token && req.headers.authorization !== `Bearer ${token}`) {
    return outcome(401, 'security', 'missing or wrong bearer token');
  }
  const url = new URL(req.url, 'http://127.0.0.1');
  if (!url.pathname.startsWith(BASE)) return outcome(404, 'not-found', `no route ${url.pathname}`);
  let parsed;
  if (body) {
    try { parsed = JSON.parse(body); } catch (err) { return outcome(400, 'structure', 'body is not JSON: ' + err.message); }
  }
  if ((req.method === 'POST' || req.method === 'PUT') && parsed) {
    const bad = invalid(parsed);
    if (bad) return [400, bad];
  }
  const path = url.pathname.substring(BASE.length - 1);
  const query = {};
  for (const [k, v] of url.searchParams) {
    query[k] = query[k] === undefined ? v : [].concat(query[k], v);
  }
  const fhirReq = { method: req.method, url: path + url.search, body: parsed, params: {}, query, headers: req.headers };
  const [oo, resource] = await router.handleRequest(fhirReq, repo);
  const status = statusOf(oo);
  return [status, resource || oo];
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, Buffer.concat(chunks).toString('utf8'))
      .catch((err) => outcome(500, 'exception', String(err && err.message || err)))
      .then(([status, payload]) => {
        res.writeHead(status, { 'Content-Type': 'application/fhir+json' });
        res.end(JSON.stringify(payload));
      });
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
