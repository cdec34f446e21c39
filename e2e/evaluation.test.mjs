// Impact evaluation in a real browser (issue 15): the demo neighbourhood carries planted support
// episodes, so on first sign-in a commissioner sees a real estimate in plain English with the naive
// before/after beside it, value marked notional, the month-by-month charts and the RE-AIM tables,
// downloads a table as CSV and opens the board pack (its charts drawn, axe-clean). A PCN manager (supervisor) and an analyst see it too; a link worker
// is refused and has no menu entry. The page passes axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, signIn, assertAccessible } from './harness.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

test('a commissioner sees the demo evaluation with the naive figure beside the estimate', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'commissioner@demo.careweave', demo.password);
  await page.click('a[href="/evaluation"]');
  assert.match(await page.textContent('h1'), /Impact evaluation/);
  const sentences = await page.textContent('[data-testid=sentences]');
  assert.match(sentences, /Emergency admissions (fell|rose|changed) by/);
  assert.match(sentences, /95% CI/);
  const rows = await page.$$eval('[data-testid=estimates] tbody tr', (r) => r.map((x) => x.textContent));
  assert.ok(rows.some((r) => /Emergency admissions/.test(r)), rows.join('\n'));
  assert.match(await page.textContent('.nhsuk-warning-callout'), /Notional, not cashable/);
  assert.equal(await page.locator('[data-testid=event-study] svg').count(), 3);
  // Reach by deprivation sets the people supported against the adults registered (the demo's
  // neighbourhood may hold no quintile-1 area, so the Core20 row is not asserted).
  assert.match(await page.textContent('[data-testid=table-reach_imd]'), /Adults registered/);
  assert.match(await page.textContent('[data-testid=table-balance]'), /SMD after/);
  await assertAccessible(page, 'evaluation');

  const href = await page.getAttribute('a[href="/evaluation/csv/estimates"]', 'href');
  const csv = await page.request.get(`${demo.base}${href}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);
  assert.match(await csv.text(), /^Outcome,Supported before/);

  // The board pack opens from the page (issue 15, item 8): its SVG charts are drawn with marks
  // and a size, its own stylesheet applies under its policy, it says how counts are protected,
  // and it passes axe.
  await page.goto(`${demo.base}/evaluation`);
  assert.equal(await page.locator('[data-testid=board-pack] a[download]').count(), 1);
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=board-pack] a[href="/evaluation/board-pack"]')]);
  assert.match(await page.textContent('h1'), /Impact evaluation/);
  const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => {
    const box = s.getBoundingClientRect();
    return { width: box.width, height: box.height, marks: s.querySelectorAll('rect, path, line, polyline, circle').length };
  }));
  assert.ok(charts.length >= 3, `charts: ${charts.length}`);
  for (const c of charts) assert.ok(c.width > 0 && c.height > 0 && c.marks > 0, JSON.stringify(c));
  assert.match(await page.evaluate(() => getComputedStyle(document.body).fontFamily), /Arial/);
  assert.match(await page.textContent('main'), /Counts of 7 or fewer are not shown and other counts are rounded to the nearest 5/);
  await assertAccessible(page, 'evaluation board pack');
  await context.close();
});

test('managers and analysts see the page; link workers are refused and offered no link', async () => {
  for (const who of ['supervisor', 'analyst']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, demo.base, `${who}@demo.careweave`, demo.password);
    assert.equal(await page.locator('a[href="/evaluation"]').count(), 1, who);
    const response = await page.goto(`${demo.base}/evaluation`);
    assert.equal(response.status(), 200, who);
    await context.close();
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);
  assert.equal(await page.locator('a[href="/evaluation"]').count(), 0);
  const response = await page.goto(`${demo.base}/evaluation`);
  assert.equal(response.status(), 403);
  await context.close();
});
