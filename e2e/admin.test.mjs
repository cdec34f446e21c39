// Issue 16, items 10 to 12, in a real browser: the signed-out home page and the self-referral form
// speaking to the person; an administrator searching the audit log by NHS number, paging it and
// downloading it, importing a directory file through its preview and reviewing the directory; and
// a link worker's pages on a 390 px phone screen, none of which may scroll sideways (the case page
// with its ONS4 table and the directory's results first among them). Every page passes axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, signIn, openAs, submit, assertAccessible, assertFitsTheScreen, PHONE } from './harness.mjs';

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

const as = (user) => openAs(browser, demo.base, user, demo.password);

test('signed out, the home page explains the services and leads to a form that speaks to you', async () => {
  const { context, page, errors } = await as(null);
  await page.setViewportSize(PHONE);
  const response = await page.goto(`${demo.base}/`);
  assert.equal(response.status(), 200);
  assert.equal((await page.textContent('h1')).trim(), 'Support in your neighbourhood');
  const main = await page.textContent('main');
  assert.match(main, /Who it is for/);
  assert.match(main, /It is free/);
  assert.equal(await page.locator('main a[href="/sign-in"]').count(), 1);
  await assertAccessible(page, 'signed-out home');
  await assertFitsTheScreen(page, 'signed-out home');

  await submit(page, '[data-testid=self-referral-link]');
  assert.equal((await page.textContent('h1')).trim(), 'Ask for support');
  await submit(page, 'form[action="/refer"] button[type=submit]');
  const summary = await page.textContent('.nhsuk-error-summary');
  assert.match(summary, /Enter your first name/);
  assert.match(summary, /Enter how we can contact you/);
  assert.match(summary, /with your GP/);
  assert.doesNotMatch(summary, /the person|their GP/);
  await assertAccessible(page, 'self-referral form with errors');
  await assertFitsTheScreen(page, 'self-referral form with errors');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an admin finds who opened a record by NHS number, pages the log and downloads it', async () => {
  // A caseworker of the PCN opens a person's record; the PCN's admin then looks it up.
  const worker = await as('caseworker@demo.careweave');
  await worker.page.goto(`${demo.base}/people`);
  await submit(worker.page, 'table a');
  const nhs = (await worker.page.locator('dt', { hasText: 'NHS number' }).locator('xpath=following-sibling::dd[1]').textContent()).trim();
  assert.match(nhs, /^\d{3} \d{3} \d{4}$/);
  await worker.context.close();

  const { context, page, errors } = await as('admin@demo.careweave');
  await page.click('a[href="/admin/audit"]');
  assert.match(await page.textContent('[data-testid=audit-count]'), /Showing 1 to 50 of \d+ entries/);
  // No fixed cap: the log pages on.
  assert.equal(await page.locator('.nhsuk-pagination').count(), 1);
  await assertAccessible(page, 'audit log');
  await submit(page, '.nhsuk-pagination__next');
  assert.match(await page.textContent('[data-testid=audit-count]'), /Showing 51 to \d+ of \d+ entries/);

  await page.goto(`${demo.base}/admin/audit`);
  await page.fill('#nhs_number', nhs);
  await submit(page, 'form[action="/admin/audit"] button[type=submit]');
  const rows = await page.textContent('[data-testid=audit-rows]');
  assert.match(rows, /caseworker@demo\.careweave/);
  assert.match(rows, /Opened/);
  assert.match(rows, /Person's record/);
  assert.doesNotMatch(rows, /care_team_member|case_finding_worklist|\bdenied\b/);
  // The admin's own search is on the record.
  assert.match(rows, /audit log searched for who accessed this record/);
  await assertAccessible(page, 'audit log by NHS number');

  const href = await page.getAttribute('[data-testid=audit-count] a[download]', 'href');
  const csv = await page.request.get(`${demo.base}${href}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);
  const text = await csv.text();
  assert.match(text, /^When \(UTC\),Who,What,Record,Record number,Why\r\n/);
  assert.match(text, /caseworker@demo\.careweave,Opened,Person's record/);

  await page.fill('#nhs_number', '123');
  await submit(page, 'form[action="/admin/audit"] button[type=submit]');
  assert.match(await page.textContent('.nhsuk-error-summary'), /NHS number must be 10 digits/);
  assert.equal(await page.inputValue('#nhs_number'), '123');
  await assertAccessible(page, 'audit log with an error');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an admin uploads a directory file, checks the preview, imports it and reviews the directory', async () => {
  const { context, page, errors } = await as('admin@demo.careweave');
  await page.goto(`${demo.base}/directory/import`);
  const sheet = 'id,organization_id,organization_name,name,needs,opening_times\n' +
    'e2e-upload-1,o9,Upload Group,Uploaded lunch club,social-groups,TU 12:00-14:00\n' +
    'e2e-upload-2,o9,Upload Group,Bad one,astrology,TU 12:00-14:00\n';
  await page.setInputFiles('#file', { name: 'services.csv', mimeType: 'text/csv', buffer: Buffer.from(sheet) });
  await page.selectOption('#owner', { index: 1 });
  await submit(page, 'form[action="/directory/import"] button[type=submit]');
  const preview = page.locator('[data-testid=import-preview]');
  assert.match(await preview.textContent(), /services\.csv, for .*: read 2 records\. Nothing has been published yet/);
  assert.equal((await page.textContent('[data-testid=preview-added]')).trim(), '1');
  assert.equal((await page.textContent('[data-testid=preview-refused]')).trim(), '1');
  assert.match(await preview.textContent(), /unknown taxonomy term/);
  await assertAccessible(page, 'directory import preview');
  // Nothing is published before the admin confirms.
  assert.equal((await page.request.get(`${demo.base}/services/e2e-upload-1`)).status(), 404);

  await submit(page, '[data-testid=import-preview] button[type=submit]');
  assert.match(await page.textContent('[data-testid=import-summary]'), /Read 2 records: 1 added, 0 updated, 1 refused/);
  assert.equal((await page.request.get(`${demo.base}/services/e2e-upload-1`)).status(), 200);
  await assertAccessible(page, 'directory import done');

  await submit(page, 'a[href="/directory/review"]');
  assert.match(await page.textContent('h1'), /Keeping the directory true/);
  assert.match(await page.textContent('main'), /Changes waiting for review/);
  await assertAccessible(page, 'directory review as admin');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a link worker\'s pages fit a 390 px screen, the case page and the directory results too', async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);

  // Every page in the link worker's menu.
  const menu = await page.$$eval('nav[aria-label=Menu] a[href]', (links) => [...new Set(links.map((a) => a.getAttribute('href')))]);
  assert.ok(menu.length >= 4, menu.join(' '));
  for (const href of menu) {
    const response = await page.goto(`${demo.base}${href}`);
    assert.equal(response.status(), 200, href);
    await assertFitsTheScreen(page, href);
    await assertAccessible(page, `390px ${href}`);
  }

  // A case with its ONS4 measures: the table stacks instead of pushing the page wide.
  await page.goto(`${demo.base}/cases`);
  const cases = await page.$$eval('table tbody tr a[href^="/cases/"]', (links) => links.map((a) => a.getAttribute('href')));
  let found = false;
  for (const href of cases) {
    await page.goto(`${demo.base}${href}`);
    if (await page.locator('[data-testid=outcome-table]').count()) { found = true; break; }
  }
  assert.ok(found, 'the link worker has a case with outcome measures');
  assert.match(await page.textContent('[data-testid=outcome-table] caption'), /ONS4/);
  await assertFitsTheScreen(page, 'case page');
  await assertAccessible(page, '390px case page');
  await page.goto(`${demo.base}/people`);
  await submit(page, 'table a');
  await assertFitsTheScreen(page, 'person record');
  await assertAccessible(page, '390px person record');

  // A directory search: the form folds away and the results start on the first screen.
  await page.goto(`${demo.base}/directory?need=befriending`);
  assert.equal(await page.locator('[data-testid=search-form-folded]').count(), 1);
  const top = await page.locator('[data-testid=results]').evaluate((e) => e.getBoundingClientRect().top);
  assert.ok(top < PHONE.height, `the results start ${top} px down`);
  await assertFitsTheScreen(page, 'directory results');
  await assertAccessible(page, '390px directory results');
  await page.locator('[data-testid=search-form-folded] summary').click();
  assert.equal(await page.isVisible('#need'), true);
  assert.deepEqual(errors, []);
  await context.close();
});
