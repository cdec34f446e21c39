// The place partnership workspace in a real browser (issue 20), walked as the place lead (the
// ICB's commissioner, who started the demo's workspace): the overview with the population profile,
// cohorts and open actions; community views with the demo survey's themes by group (small counts
// hidden) and a survey refused for an identifying column, naming it; the four answers with their
// evidence; the good-practice catalogue; the solution-building event, marking an action done; the
// two self-assessments a year apart compared, the action plan, the CSV and the printable page.
// A PCN admin (a partner) opens it too; a link worker has no menu entry and is refused. Every page
// passes axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, submit, assertAccessible } from './harness.mjs';

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

test('the place lead walks the demo workspace', async () => {
  const { context, page, errors } = await openAs(browser, demo.base, 'commissioner@demo.careweave', demo.password);
  await submit(page, 'a[href="/place"]');
  assert.match(await page.textContent('h1'), /Place partnerships/);
  await assertAccessible(page, 'place-list');
  await submit(page, 'a:has-text("Riverside neighbourhood partnership")');
  const overview = page.url();
  assert.match(await page.textContent('h1'), /Riverside neighbourhood partnership/);
  assert.equal(await page.locator('[data-testid=chart-age_band_sex] svg').count(), 1);
  assert.ok(await page.locator('[data-testid=cohorts] tbody tr').count() > 0);
  assert.match(await page.textContent('[data-testid=partners]'), /Riverside City Council/);
  assert.match(await page.textContent('main'), /Start the weekly MDT/);
  await assertAccessible(page, 'place-overview');

  await submit(page, '.nhsuk-contents-list a:has-text("Community views")');
  const community = await page.textContent('main');
  assert.match(community, /Getting an appointment/);
  assert.match(community, /7 or fewer/);
  assert.equal(await page.locator('[data-testid=themes-by-group]').count(), 2);
  await assertAccessible(page, 'place-community');
  // A survey with an identifying column is refused, naming it, and the text stays.
  await page.fill('#title', 'Pharmacy survey');
  await page.fill('#content', 'question,answer,Phone number\nWhat would help?,Later opening,01632 960000\n');
  await submit(page, 'button:has-text("Import")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Phone number/);
  assert.equal(await page.inputValue('#title'), 'Pharmacy survey');
  await assertAccessible(page, 'place-survey-refused');

  await submit(page, '.nhsuk-contents-list a:has-text("Four questions")');
  for (const q of ['best_practice', 'innovation', 'integration', 'long_term']) {
    assert.ok(await page.locator(`[data-testid=question-${q}] ul a`).count() > 0, q);
  }
  await assertAccessible(page, 'place-questions');
  // An answer without evidence is refused with the error summary and keeps the text.
  await page.click('[data-testid=question-innovation] summary');
  await page.fill('#answer-innovation', 'Navigators in every practice');
  for (const box of await page.locator('[data-testid=question-innovation] input[type=checkbox]:checked').all()) {
    await box.uncheck();
  }
  await submit(page, '[data-testid=question-innovation] button[type=submit]');
  assert.match(await page.textContent('.nhsuk-error-summary'), /evidence/);
  assert.equal(await page.inputValue('#answer-innovation'), 'Navigators in every practice');
  await assertAccessible(page, 'place-questions-error');

  await page.goto(`${overview}/catalogue`);
  assert.ok(await page.locator('[data-testid=entry]').count() >= 9);
  assert.match(await page.textContent('main'), /Wokingham/);
  await assertAccessible(page, 'place-catalogue');

  await submit(page, '.nhsuk-contents-list a:has-text("Solution building")');
  assert.equal(await page.locator('[data-testid=open-actions] tbody tr').count(), 2);
  await submit(page, '[data-testid=open-actions] tbody tr:first-child button');
  assert.equal(await page.locator('[data-testid=open-actions] tbody tr').count(), 1);
  assert.equal(await page.locator('[data-testid=done-actions] tbody tr').count(), 2);
  await assertAccessible(page, 'place-events');

  await submit(page, '.nhsuk-contents-list a:has-text("Self-assessment")');
  assert.equal(await page.locator('[data-testid=assessments] tbody tr').count(), 2);
  const comparison = await page.textContent('[data-testid=comparison]');
  assert.match(comparison, /Moved forward/);
  assert.match(comparison, /No change/);
  assert.ok(await page.locator('[data-testid=plan] li').count() > 0);
  await assertAccessible(page, 'place-assessment');
  const href = await page.getAttribute('a[href*="assessment.csv"]', 'href');
  const csv = await page.request.get(`${demo.base}${href}`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^Assessed on,Section,Approach,Tier,Score,Evidence/);
  await submit(page, 'a[href$="/print"]');
  assert.match(await page.textContent('h1'), /Integration self-assessment/);
  await assertAccessible(page, 'place-assessment-print');

  await page.goto(`${overview}/assessment/new`);
  await assertAccessible(page, 'place-assessment-new');
  await submit(page, 'button:has-text("Save the assessment")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /There is a problem/);
  await assertAccessible(page, 'place-assessment-new-errors');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a partner opens the workspace; a link worker is offered no link and is refused', async () => {
  const admin = await openAs(browser, demo.base, 'admin@demo.careweave', demo.password);
  await submit(admin.page, 'a[href="/place"]');
  await submit(admin.page, 'a:has-text("Riverside neighbourhood partnership")');
  const overview = admin.page.url();
  assert.match(await admin.page.textContent('h1'), /Riverside neighbourhood partnership/);
  await admin.context.close();

  const worker = await openAs(browser, demo.base, 'linkworker@demo.careweave', demo.password);
  assert.equal(await worker.page.locator('a[href="/place"]').count(), 0);
  const response = await worker.page.goto(overview);
  assert.equal(response.status(), 403);
  await assertAccessible(worker.page, 'place-refused');
  await worker.context.close();
});
