// The public pages in headless Chromium (Debian's /usr/bin/chromium via playwright-core; no
// browser is downloaded), on a phone-sized viewport: fill in the complaint form, submit it,
// open the status link from the receipt, and run axe-core on each page.
//
//   node browser.mjs '{"base": "http://127.0.0.1:PORT", "subject": "...", "lang": "zh"}'
//
// Prints one JSON object: the axe violations of each page (impact, id, nodes), every request
// the browser made to a host other than the server, dialogs that opened (an executed
// <script> would open one), the reference, the status page's subject as text, and whether a
// page is wider than the phone's screen.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = JSON.parse(process.argv[2]);
const axeSource = fs.readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-features=OptimizationGuideModelDownloading,OptimizationHintsFetching,' +
      'OptimizationTargetPrediction,OptimizationHints,NetworkTimeServiceQuerying',
    '--component-updater=url-source=http://127.0.0.1:9/',
  ],
});
const result = { pages: {}, external: [], dialogs: [], overflow: {} };
try {
  // bypassCSP: axe is injected as a script, and an escaping bug must show even though the
  // pages' Content-Security-Policy would also stop an injected script
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
    hasTouch: true, locale: args.lang === 'en' ? 'en-US' : 'zh-CN', bypassCSP: true,
  });
  const page = await context.newPage();
  const origin = new URL(args.base).origin;
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) result.external.push(request.url());
  });
  page.on('dialog', async (dialog) => {
    result.dialogs.push(dialog.message());
    await dialog.dismiss();
  });

  async function audit(name) {
    await page.addScriptTag({ content: axeSource });
    const report = await page.evaluate(async () => await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }));
    result.pages[name] = report.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    }));
    result.overflow[name] = await page.evaluate(
      () => document.documentElement.scrollWidth > window.innerWidth + 1);
  }

  await page.goto(`${args.base}/public/complaint?lang=${args.lang}`);
  await audit('form');
  await page.fill('#f-subject', args.subject);
  await page.fill('#f-message', args.message);
  await page.fill('#f-name', '陈建国');
  await page.fill('#f-phone', '13912345678');
  await page.check('#f-contact_ok');
  await Promise.all([page.waitForNavigation(), page.tap('button[type=submit]')]);
  await audit('receipt');
  result.reference = (await page.textContent('.reference'))?.trim();
  await Promise.all([page.waitForNavigation(), page.tap('.status-link a')]);
  await audit('status');
  result.status_url = page.url();
  result.status_subject = await page.textContent('.subject');
  result.status_state = (await page.textContent('.state'))?.trim();
  result.status_html_has_script_tag = (await page.content()).includes('<script>alert');
  await context.close();
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
