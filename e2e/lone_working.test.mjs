// Lone working in a real browser. The demo charity's rule from the SAPA 5 case study (home visits
// only with an NHS colleague) refuses a link worker's lone home visit with a message naming the
// rule, and the visit goes ahead once an NHS colleague is added; a supervisor adds a rule of their
// own through the form. A lone visit not checked out by its expected return raises the alert on
// the supervisor's home page and the lone working board, where the supervisor records how they
// know the worker is safe. Every distinct page on the way is scanned with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, submit, assertAccessible } from './harness.mjs';

let demo;
let browser;

/**
 * The server's clock starts at 11:00 on 16 June 2026 in London (British Summer Time), so that a
 * visit planned for 00:00 to 00:01 today is overdue and one at 14:00 is still ahead, whatever the
 * wall clock says.
 */
const CLOCK = '2026-06-16T10:00:00Z';

before(async () => {
  demo = await startDemo({ clock: CLOCK });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

const as = (user) => openAs(browser, demo.base, user, demo.password);

/** Today as the server's clock sees it (its fixed start, above), as the three boxes of a date input. */
function today() {
  return { day: '16', month: '6', year: '2026' };
}

/** Opens an NHS.UK details component from the keyboard (focus its summary, press Enter). */
async function openDetails(page, summaryText) {
  const summary = page.locator('summary.nhsuk-details__summary', { hasText: summaryText });
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), true, `"${summaryText}" opens from the keyboard`);
}

/** Opens the first case on the signed-in worker's caseload and returns its address. */
async function firstCase(page) {
  await page.goto(`${demo.base}/cases`);
  const href = await page.getAttribute('table tbody tr a[href^="/cases/"]', 'href');
  await page.goto(`${demo.base}${href}`);
  return `${demo.base}${href}`;
}

/** Fills the case page's "Plan a visit" form (already open). */
async function planVisit(page, { type, start, back, place, companion = '' }) {
  await page.selectOption('#visit_type', type);
  const t = today();
  await page.fill('#visit-day', t.day);
  await page.fill('#visit-month', t.month);
  await page.fill('#visit-year', t.year);
  await page.fill('#visit_start', start);
  await page.fill('#visit_back', back);
  await page.fill('#visit_place', place);
  await page.selectOption('#companion', companion);
  await submit(page, 'form[action$="/visits"] button');
}

test('an employer rule refuses a lone home visit by name, and a joint visit goes ahead', async () => {
  const sup = await as('supervisor@demo.careweave');
  await sup.page.goto(`${demo.base}/visit-rules`);
  assert.match(await sup.page.textContent('table'), /Home visits with an NHS colleague/);
  await assertAccessible(sup.page, 'lone working visit rules');
  // A rule of the supervisor's own: the evening rule needs its time.
  await sup.page.fill('#rule_name', 'Evening visits');
  await sup.page.check('#rule_kind-no_lone_visits_after');
  await submit(sup.page, 'form[action="/visit-rules"] button');
  assert.match(await sup.page.textContent('.nhsuk-error-summary'), /Enter the time by which lone visits must end/);
  assert.equal(await sup.page.inputValue('#rule_name'), 'Evening visits');
  await assertAccessible(sup.page, 'lone working visit rules with an error');
  await sup.page.fill('#rule_after', '19:00');
  await submit(sup.page, 'form[action="/visit-rules"] button');
  assert.match(await sup.page.textContent('table'), /Evening visits.*No lone home visits after a set time \(19:00\)/s);
  assert.deepEqual(sup.errors, []);
  await sup.context.close();

  const { context, page, errors } = await as('linkworker@demo.careweave');
  const caseUrl = await firstCase(page);
  await openDetails(page, 'Plan a visit');
  await planVisit(page, { type: 'home_visit', start: '14:00', back: '15:00', place: '4 Example Street' });
  const summary = await page.textContent('.nhsuk-error-summary');
  assert.match(summary, /rule "Home visits with an NHS colleague" does not allow this visit: go with a colleague employed by an NHS organisation/);
  assert.equal(await page.inputValue('#visit_place'), '4 Example Street');
  assert.equal(await page.inputValue('#visit_back'), '15:00');
  await assertAccessible(page, 'lone working visit refused by a rule');
  // The error summary's link takes the keyboard to the colleague to choose.
  await page.click('.nhsuk-error-summary a[href="#companion"]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'companion');
  const casey = await page.$eval('#companion', (s) => [...s.options].find((o) => o.textContent.startsWith('Casey Caseworker'))?.value);
  assert.ok(casey, 'the PCN caseworker is offered as a colleague');
  await planVisit(page, { type: 'home_visit', start: '14:00', back: '15:00', place: '4 Example Street', companion: casey });
  assert.ok(page.url().startsWith(caseUrl), 'back on the case after planning');
  await page.goto(`${demo.base}/my-day`);
  assert.match(await page.textContent('main'), /Home visit, 14:00 to 15:00 at 4 Example Street, with Casey Caseworker/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a lone visit not checked out in time alerts the supervisor, who confirms the worker safe', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await firstCase(page);
  await openDetails(page, 'Plan a visit');
  // Going with the person to a hospital appointment, alone, over by one minute past midnight.
  await planVisit(page, { type: 'accompanied', start: '00:00', back: '00:01', place: 'Riverside Hospital outpatients' });
  await page.goto(`${demo.base}/my-day`);
  const item = page.locator('li', { hasText: 'Riverside Hospital outpatients' });
  assert.match(await item.textContent(), /Not checked out/);
  await Promise.all([page.waitForNavigation(), item.locator('button', { hasText: 'Check in' }).click()]);
  assert.match(await page.locator('li', { hasText: 'Riverside Hospital outpatients' }).textContent(), /Not checked out/);
  await assertAccessible(page, 'lone working my day with an overdue visit');
  assert.deepEqual(errors, []);
  await context.close();

  const sup = await as('supervisor@demo.careweave');
  await sup.page.goto(`${demo.base}/`);
  assert.match(await sup.page.textContent('.nhsuk-card--care--urgent'), /not been checked out in time/);
  await assertAccessible(sup.page, 'lone working alert on the home page');
  await submit(sup.page, '.nhsuk-card--care--urgent a[href="/lone-working"]');
  const card = sup.page.locator('.nhsuk-card', { hasText: 'Riverside Hospital outpatients' });
  assert.match(await card.textContent(), /Lee Linkworker/);
  assert.match(await card.textContent(), /expected back by 00:01/);
  await assertAccessible(sup.page, 'lone working board');
  // Closing it needs a word on how the supervisor knows the worker is safe.
  await submit(sup.page, '.nhsuk-card:has-text("Riverside Hospital outpatients") button');
  assert.match(await sup.page.textContent('.nhsuk-error-summary'), /Enter how you confirmed your colleague is safe/);
  await assertAccessible(sup.page, 'lone working board with an error');
  await sup.page.fill('#safe_note', 'Phoned Lee at 00:10: the clinic ran late, on her way home');
  await submit(sup.page, '.nhsuk-card:has-text("Riverside Hospital outpatients") button');
  assert.equal(await sup.page.locator('.nhsuk-card', { hasText: 'Riverside Hospital outpatients' }).count(), 0);
  assert.match(await sup.page.textContent('table'), /Riverside Hospital outpatients.*Checked out safely: Phoned Lee at 00:10/s);
  assert.deepEqual(sup.errors, []);
  await sup.context.close();
});
