// Issue 16 items 5, 7 and 9 in a real browser, on the demo: a link worker plans a visit two days
// ahead and finds it in the diary's week, moves to the month and on to the next, downloads the
// calendar file (initials and case numbers only) and makes a feed address; the printable plan
// (printed without the header and menu) and MDT minutes; the signpost form says its note is
// printed for the person; a supervisor's casework reports with charts, CSV links and a date range,
// and the board; the population profile names conditions and small areas in words. Every page on
// the way is scanned with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, submit, assertAccessible, assertFitsTheScreen } from './harness.mjs';

/** The server's clock starts at 10:00 on Wednesday 2 December 2026 in London (UTC in winter). */
const CLOCK = '2026-12-02T10:00:00Z';

let demo;
let browser;

before(async () => {
  demo = await startDemo({ clock: CLOCK });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

const as = (user) => openAs(browser, demo.base, user, demo.password);

/** Opens an NHS.UK details component from the keyboard (focus its summary, press Enter). */
async function openDetails(page, summaryText) {
  const summary = page.locator('summary.nhsuk-details__summary', { hasText: summaryText });
  await summary.focus();
  await page.keyboard.press('Enter');
}

test('a worker finds a visit two days ahead in the diary and takes it to a calendar', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/cases`);
  const href = await page.getAttribute('table tbody tr a[href^="/cases/"]', 'href');
  const caseId = href.split('/').pop();
  await page.goto(`${demo.base}${href}`);
  // Dates that are nearly always today start at today.
  assert.equal(await page.inputValue('#contact-day'), '2');
  assert.equal(await page.inputValue('#contact-month'), '12');
  assert.equal(await page.inputValue('#reviewed-year'), '2026');
  await openDetails(page, 'Plan a visit');
  // An accompanied appointment: the demo charity's rule is about home visits.
  await page.selectOption('#visit_type', 'accompanied');
  await page.fill('#visit-day', '4');
  await page.fill('#visit-month', '12');
  await page.fill('#visit-year', '2026');
  await page.fill('#visit_start', '10:30');
  await page.fill('#visit_back', '12:00');
  await page.fill('#visit_place', 'Riverside Surgery');
  await submit(page, 'form[action$="/visits"] button');
  assert.match(page.url(), /\/cases\/\d+#contacts$/);

  // The Casework menu's Diary opens this week, which holds Friday's visit.
  await page.goto(`${demo.base}/`);
  await submit(page, 'header a[href="/menu/casework"]');
  await submit(page, 'main a[href="/diary"]');
  assert.match(await page.textContent('h1'), /30 November to 6 December 2026/);
  const friday = await page.textContent('#day-2026-12-04 + ul');
  assert.match(friday, /10:30 to 12:00/);
  assert.match(friday, /Accompanied appointment/);
  assert.match(await page.textContent('#day-2026-12-02'), /Today/);
  await assertAccessible(page, 'diary week');
  // Measured on a fresh load at phone size once its fonts are in, so the width is the page's own
  // and not a reflow caught half-way or a fallback font's.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.evaluate(() => document.fonts.ready);
  await assertFitsTheScreen(page, 'the diary week');
  await assertAccessible(page, 'diary week on a phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Next week, then the month and the next month.
  await submit(page, 'a[rel="next"]');
  assert.match(await page.textContent('h1'), /7 December to 13 December 2026/);
  await submit(page, 'a[href^="/diary?view=month"]');
  assert.match(await page.textContent('h1'), /December 2026/);
  assert.match(await page.textContent('main'), /Accompanied appointment/);
  await assertAccessible(page, 'diary month');
  await submit(page, 'a[rel="next"]');
  assert.match(await page.textContent('h1'), /January 2027/);
  await assertAccessible(page, 'diary next month');
  await submit(page, 'a:has-text("Back to today")');
  assert.match(await page.textContent('h1'), /December 2026/);

  // The calendar file names the person by initials and case number only.
  const link = await page.getAttribute('a[href^="/diary.ics"]', 'href');
  const file = await page.request.get(`${demo.base}${link}`);
  assert.equal(file.status(), 200);
  assert.match(file.headers()['content-type'], /^text\/calendar/);
  const ics = await file.text();
  assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics, new RegExp(`SUMMARY:Accompanied appointment: [A-Z]\\.[A-Z]\\. \\(case ${caseId}\\)`));
  assert.doesNotMatch(ics, /Riverside Surgery/);

  // A feed address is made and shown once, on an accessible page.
  await submit(page, 'form[action="/diary/feed"] button');
  const address = await page.inputValue('#feed-address');
  assert.match(address, /^http:\/\/127\.0\.0\.1:\d+\/diary\/feed\/[A-Za-z0-9_-]+\.ics$/);
  await assertAccessible(page, 'diary with a new feed address');
  const feed = await context.request.get(address);
  assert.equal(feed.status(), 200);
  assert.match(await feed.text(), /Accompanied appointment/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the plan, the minutes and the signpost summary print for the person and the team', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/cases`);
  const href = await page.getAttribute('table tbody tr a[href^="/cases/"]', 'href');
  await page.goto(`${demo.base}${href}`);
  await submit(page, 'a:has-text("The plan written to the person, to print")');
  assert.match(await page.textContent('h1'), /Your care and support plan/);
  assert.match(await page.textContent('main'), /What matters to you/);
  assert.equal(await page.isVisible('button[data-app-print]'), true, 'the Print button shows with a script');
  await assertAccessible(page, 'plan to print');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('header.nhsuk-header'), false, 'the header is not printed');
  assert.equal(await page.isVisible('button[data-app-print]'), false, 'nor is the Print button');
  assert.equal(await page.isVisible('h1'), true);
  await page.emulateMedia({ media: 'screen' });

  await page.goto(`${demo.base}/mdt`);
  await submit(page, '#past + table a:has-text("Social prescribing MDT")');
  await submit(page, 'a:has-text("Minutes, to print")');
  assert.match(await page.textContent('main'), /Minutes of the MDT meeting/);
  assert.match(await page.textContent('main'), /Joint visit with the housing association/);
  await assertAccessible(page, 'mdt minutes');

  await page.goto(`${demo.base}/directory/services/hillside-befriending`);
  if ((await page.locator('#signpost-note').count()) > 0) {
    assert.match(await page.textContent('#signpost-note-hint'), /printed on the person's summary/);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('a supervisor reads the casework reports with charts, CSV and dates, and the board', async () => {
  const { context, page, errors } = await as('supervisor@demo.careweave');
  await page.goto(`${demo.base}/casework/reports`);
  assert.ok(await page.locator('svg.app-chart').count() >= 3, 'trend and distribution charts');
  assert.match(await page.textContent('main'), /Referrals received by month/);
  await assertAccessible(page, 'casework reports with charts');
  const csv = await page.request.get(`${demo.base}${await page.getAttribute('a[href*="table=sources"]', 'href')}`);
  assert.match(csv.headers()['content-type'], /^text\/csv/);
  assert.match(await csv.text(), /^Source,Referrals\r\n/);
  await page.fill('#from-day', '1');
  await page.fill('#from-month', '11');
  await page.fill('#from-year', '2026');
  await submit(page, 'button:has-text("Show these dates")');
  assert.match(page.url(), /from-day=1/);
  assert.match(await page.getAttribute('a[href*="table=sources"]', 'href'), /from=2026-11-01/);
  await assertAccessible(page, 'casework reports for a date range');
  await page.fill('#to-day', '31');
  await page.fill('#to-month', '2');
  await page.fill('#to-year', '2026');
  await submit(page, 'button:has-text("Show these dates")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /end date/i);
  await assertAccessible(page, 'casework reports with a date error');
  await page.goto(`${demo.base}/casework/board`);
  assert.ok(await page.locator('svg.app-chart').count() >= 1);
  await assertAccessible(page, 'board report with charts');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the population profile names conditions and small areas in words', async () => {
  const { context, page, errors } = await as('analyst@demo.careweave');
  await page.goto(`${demo.base}/population`);
  const conditions = await page.textContent('[data-testid=breakdown-prevalence]');
  assert.match(conditions, /High blood pressure/);
  assert.doesNotMatch(conditions, /\bhypertension\b/);
  const area = await page.$eval('#place', (s) => [...s.options].find((o) => o.value.startsWith('lsoa:')).textContent);
  assert.match(area, /^Small area: .+ \(E0\d+\)$/);
  const csv = await page.request.get(`${demo.base}${await page.getAttribute('a[href*="table=prevalence"]', 'href')}`);
  assert.match(await csv.text(), /^Place,Group,People\r\n/);
  await assertAccessible(page, 'population profile in words');
  assert.deepEqual(errors, []);
  await context.close();
});
