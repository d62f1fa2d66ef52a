// A survey invitation's page in headless Chromium (Debian's, via playwright-core), on a
// phone-sized viewport: open the link, run axe-core, answer by tapping, submit, and report.
//
//   node survey.mjs '{"url": "http://127.0.0.1:PORT/s/TOKEN", "lang": "zh"}'
//
// Prints one JSON object: axe violations of the questionnaire and the thank-you page, requests
// to any host other than the server, dialogs (an executed <script> would open one), the page
// headings, and whether a page is wider than the screen.
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
const result = { pages: {}, external: [], dialogs: [], overflow: {}, headings: {} };
try {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true,
    hasTouch: true, locale: args.lang === 'en' ? 'en-US' : 'zh-CN', bypassCSP: true,
  });
  const page = await context.newPage();
  const origin = new URL(args.url).origin;
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
    result.headings[name] = (await page.textContent('h1'))?.trim();
  }
  await page.goto(`${args.url}?lang=${args.lang}`);
  await audit('survey');
  await page.tap('#q-overall-good');
  await page.tap('#q-waiting-2');
  await page.fill('#q-comments', args.comment || '');
  await Promise.all([page.waitForNavigation(), page.tap('button[type=submit]')]);
  await audit('thanks');
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
