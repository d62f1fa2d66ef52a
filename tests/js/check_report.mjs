// Open an HTML report in headless Chromium (the system's, through playwright-core) with the
// network cut off, and print what a test needs as one JSON object: console errors, page
// errors, every request made after the page itself, each chart's drawn size, every table
// cell's value and sparkline numbers. A screenshot of the whole page goes to argv[3].
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const [, , htmlPath, shotPath] = process.argv;
const executablePath = process.env.HC_CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-features=OptimizationGuideModelDownloading,OptimizationHintsFetching,' +
      'OptimizationTargetPrediction,OptimizationHints,NetworkTimeServiceQuerying',
    '--component-updater=url-source=http://127.0.0.1:9/',
  ],
});
const out = { console_errors: [], page_errors: [], requests: [], charts: [], tables: {} };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 },
                                             offline: true });
  const page = await context.newPage();
  const url = pathToFileURL(htmlPath).href;
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) out.requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  Object.assign(out, await page.evaluate(() => {
    const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
      const box = svg.getBoundingClientRect();
      return { id: svg.dataset.chart, width: box.width, height: box.height,
               marks: svg.querySelectorAll('polyline, rect, circle').length };
    });
    const tables = {};
    for (const section of document.querySelectorAll('section.table')) {
      tables[section.dataset.table] = [...section.querySelectorAll('tbody tr')].map((tr) => {
        const row = {};
        for (const td of tr.querySelectorAll('td')) {
          if (td.dataset.col === 'trend') {
            const spark = td.querySelector('svg.spark');
            row.trend = JSON.parse(spark.dataset.values);
            row.trend_box = spark.getBoundingClientRect().width;
          } else {
            row[td.dataset.col] = { value: JSON.parse(td.dataset.value), shown: td.textContent };
          }
        }
        return row;
      });
    }
    const cjk = document.fonts ? document.fonts.status : 'n/a';
    return { charts, tables, title: document.title, fonts: cjk };
  }));
  await page.screenshot({ path: shotPath, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
