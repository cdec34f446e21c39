// The place partnership workspace in a real browser (issue 20), walked as the PCN manager (a lead
// of the demo's workspace, which the ICB's commissioner started with the PCN, the charity and the
// council as partners): the overview with the population profile, cohorts and open actions, also
// on a 390 px phone screen; community views with the demo survey's themes by group (small counts
// hidden) and a survey refused for an identifying column, naming it; the four answers with their
// evidence; the good-practice catalogue; the solution-building event, marking an action done; the
// two self-assessments a year apart compared, the action plan, the CSV and the printable page.
// The commissioner (the lead who started it) and the charity's supervisor (a partner) open it too;
// a GP at a practice that is not a partner has no link and is refused. Every page passes axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, submit, assertAccessible, assertFitsTheScreen, PHONE } from './harness.mjs';

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

test('the PCN manager walks the demo workspace', async () => {
  const { context, page, errors } = await openAs(browser, demo.base, 'manager@demo.careweave', demo.password);
  // The Place page sits in the Population group of the menu.
  await submit(page, '.nhsuk-header__navigation-link[href="/menu/population"]');
  await assertAccessible(page, 'population landing page with place');
  await submit(page, 'main a[href="/place"]');
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
  await page.setViewportSize(PHONE);
  await page.reload();
  await assertFitsTheScreen(page, 'place overview');
  await assertAccessible(page, '390px place-overview');
  await page.setViewportSize({ width: 1280, height: 800 });

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
  // A readable survey is imported; its row without an answer is listed by line and field.
  await page.fill('#content', 'question,answer,Ward\nWhat would help?,Later opening at the pharmacy,Riverside\n' +
    'What would help?,A bus after six,Hillside\nWhat would help?,,Hillside\n');
  await submit(page, 'button:has-text("Import")');
  assert.match(await page.textContent('[data-testid=import-report]'), /Pharmacy survey: 2 answers imported, 1 rows not imported/);
  const rejected = await page.textContent('[data-testid=rejected-rows] tbody');
  assert.match(rejected, /4/);
  assert.match(rejected, /answer/);
  await assertAccessible(page, 'place-survey-imported');

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

test('the lead who started it and a partner open the workspace; a GP outside the partnership is refused', async () => {
  let overview;
  for (const user of ['commissioner@demo.careweave', 'supervisor@demo.careweave']) {
    const { context, page, errors } = await openAs(browser, demo.base, user, demo.password);
    await page.goto(`${demo.base}/place`);
    await submit(page, 'a:has-text("Riverside neighbourhood partnership")');
    overview = page.url();
    assert.match(await page.textContent('h1'), /Riverside neighbourhood partnership/);
    await assertAccessible(page, `place-overview ${user}`);
    assert.deepEqual(errors, []);
    await context.close();
  }

  // The GP works at a practice that is not a partner, in a role that takes no part in places.
  const gp = await openAs(browser, demo.base, 'referrer@demo.careweave', demo.password);
  await gp.page.goto(`${demo.base}/menu/population`);
  assert.equal(await gp.page.locator('a[href="/place"]').count(), 0);
  const response = await gp.page.goto(overview);
  assert.equal(response.status(), 403);
  assert.doesNotMatch(await gp.page.textContent('main'), /Riverside neighbourhood partnership/);
  await assertAccessible(gp.page, 'place-refused');
  await gp.context.close();
});
