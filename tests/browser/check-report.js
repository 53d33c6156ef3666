// Opens a bitalign report from disk in headless Chromium and checks that it works:
// no console errors and no network requests, the table holds the expected rows,
// sorting reorders them, filtering by text and by fate hides the right ones, and a
// screenshot is saved.
//
//   node check-report.js REPORT_HTML EXPECTED_ROWS SORT_COLUMN SCREENSHOT_PNG
//
// Needs playwright-core (scripts/browser-test.sh installs it) and Chromium
// ($CHROMIUM, default /usr/bin/chromium).
'use strict';
const { chromium } = require('playwright-core');
const { pathToFileURL } = require('node:url');
const { resolve } = require('node:path');

const [page_path, expected_arg, sort_column, shot] = process.argv.slice(2);
const expected = Number(expected_arg);
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

(async () => {
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto(pathToFileURL(resolve(page_path)).href, { waitUntil: 'load' });

  // Screenshots before any interaction: the counts and plots, then the table.
  await page.evaluate(() => document.getElementById('pairs').scrollIntoView());
  await page.screenshot({ path: shot });
  await page.evaluate(() => document.getElementById('table').scrollIntoView());
  await page.screenshot({ path: shot.replace(/\.png$/, '-table.png') });

  const rows = page.locator('#rows tbody tr');
  const visible = page.locator('#rows tbody tr:not([hidden])');
  check(await rows.count() === expected, `table holds ${expected} rows (found ${await rows.count()})`);
  check((await page.textContent('#count')) === `${expected} of ${expected} rows`,
    `row counter says all ${expected} rows are shown`);
  const svgs = await page.locator('svg').count();
  check(svgs >= 1, `plots are drawn inline (${svgs} svg)`);

  // Sorting: the first click sorts a numeric column descending, the second ascending.
  const header = page.locator('#rows thead th', { hasText: sort_column }).first();
  const col = await header.evaluate((th) => th.cellIndex);
  const values = () => page.$$eval('#rows tbody tr', (trs, i) =>
    trs.map((tr) => parseFloat(tr.cells[i].dataset.v)), col);
  const before = await values();
  await header.click();
  const desc = await values();
  check(desc.every((v, i) => i === 0 || desc[i - 1] >= v), `${sort_column} sorts descending on the first click`);
  check(JSON.stringify(desc) !== JSON.stringify(before), 'sorting changed the row order');
  await header.click();
  const asc = await values();
  check(asc.every((v, i) => i === 0 || asc[i - 1] <= v), `${sort_column} sorts ascending on the second click`);
  check(await header.getAttribute('aria-sort') === 'ascending', 'the header shows the sort direction');

  // Text filter: a word from one row's source side.
  const word = await page.$$eval('#rows tbody tr td.sent', (tds) => {
    for (const td of tds) {
      const words = td.lastChild.textContent.split(/\s+/).filter((w) => w.length >= 6 && /^\p{L}+$/u.test(w));
      if (words.length) return words[words.length - 1];
    }
    return 'no-word-found';
  });
  await page.fill('#q', word);
  const n_word = await visible.count();
  const all_match = await page.$$eval('#rows tbody tr:not([hidden])', (trs, w) =>
    trs.every((tr) => tr.textContent.toLowerCase().includes(w.toLowerCase())), word);
  check(n_word > 0 && n_word < expected, `filtering by "${word}" keeps ${n_word} of ${expected} rows`);
  check(all_match, 'every row left contains the filter text');
  check((await page.textContent('#count')) === `${n_word} of ${expected} rows`, 'row counter follows the filter');
  await page.fill('#q', '');
  check(await visible.count() === expected, 'clearing the filter shows every row again');

  // Fate filter: the second choice (kept / aligned).
  const fate = await page.$eval('#fate option:nth-child(2)', (o) => o.value);
  await page.selectOption('#fate', fate);
  const n_fate = await visible.count();
  const want = await page.$$eval(`#rows tbody tr[data-fate="${fate}"]`, (t) => t.length);
  check(n_fate === want && n_fate < expected, `"${fate}" rows only: ${n_fate}`);
  await page.selectOption('#fate', '');

  check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
  check(requests.length === 0, `no network requests${requests.length ? ': ' + requests.join(' ') : ''}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`${page_path}: ${failures.length} check(s) failed`);
  process.exit(1);
}
})().catch((e) => { console.error(e); process.exit(1); });
