'use strict';
// Reads one JSON resource (or Bundle) per line on stdin and prints one JSON line per input:
//   {"ok": true|false, "medplum": [{severity, path, message}], "fhirjs": [...]}
// It keeps running until stdin closes, so a test session starts it once.
// With a file argument it validates that file (JSON, or NDJSON when it ends in .ndjson).
const fs = require('fs');
const readline = require('readline');
const { errorsOf, load, validate } = require('./common');

function check(line) {
  let resource;
  try {
    resource = JSON.parse(line);
  } catch (err) {
    const issue = { severity: 'error', path: '', message: 'not JSON: ' + err.message };
    return { ok: false, medplum: [issue], fhirjs: [] };
  }
  const result = validate(resource);
  return { ok: errorsOf(result).length === 0, ...result };
}

load();
if (process.argv[2]) {
  const text = fs.readFileSync(process.argv[2], 'utf8');
  const lines = process.argv[2].endsWith('.ndjson') ? text.split('\n').filter((l) => l.trim()) : [text];
  let bad = 0;
  for (const line of lines) {
    const r = check(line);
    if (!r.ok) bad += 1;
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  process.exit(bad ? 1 : 0);
} else {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim()) process.stdout.write(JSON.stringify(check(line)) + '\n');
  });
}
