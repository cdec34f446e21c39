// Day one for real teams (issue 16) in a real browser: a GP finds their referral, opens their
// practice's population profile and worklist; a link worker finds a person and a discharged case
// (also at a 390 px viewport); a PCN worker refers from a worklist row in three clicks; a PCN
// manager reads the reports with no 403. Every page passes an axe-core WCAG 2.2 A/AA scan.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, assertAccessible, submit } from './harness.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo({ clock: '2026-06-16T10:00:00Z' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The header's items: (label, href). */
async function header(page) {
  return page.$$eval('.nhsuk-header__navigation-link[href]', (as) =>
    as.map((a) => ({ label: a.textContent.trim(), href: a.getAttribute('href') })));
}

/** Whether the page scrolls sideways (it must not at 390 px). */
async function scrollsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

test('a GP finds their referral, sees their practice profile and works their worklist', async () => {
  const { context, page, errors } = await openAs(browser, demo.base, 'referrer@demo.careweave', demo.password);
  const items = await header(page);
  assert.ok(items.length <= 7, `a short header: ${JSON.stringify(items)}`);
  assert.ok(items.some((i) => i.label === 'Find a person'));

  // Search: the GP reads no records, so the search finds the referrals they sent.
  const sent = (await page.locator('[data-testid=sent-referrals] tbody tr td:first-child a').first().textContent()).trim();
  await submit(page, 'header a[href="/find"]');
  await assertAccessible(page, 'GP find a person');
  await page.fill('#q', sent.split(' ').pop());
  await submit(page, 'form[role=search] button');
  assert.match(await page.textContent('[data-testid=referral-results]'), new RegExp(sent));
  assert.equal(await page.locator('[data-testid=people-results]').count(), 0, 'no records');
  await assertAccessible(page, 'GP search results');

  // The practice's population profile, through the Population group.
  await submit(page, 'header a[href="/menu/population"]');
  await assertAccessible(page, 'GP population menu');
  await submit(page, 'main a[href="/population"]');
  const title = (await page.textContent('[data-testid=place-title]')).trim();
  assert.match(title, /Surgery|Practice|Medical|Health Centre/i, title);
  const options = await page.$$eval('#place option', (os) => os.map((o) => o.textContent.trim()));
  assert.ok(options.every((o) => !o.startsWith('PCN') && !o.startsWith('LSOA')), `only the practice: ${options}`);
  await assertAccessible(page, 'GP practice population profile');

  // Their practice's worklists.
  await page.goto(`${demo.base}/menu/population`);
  await submit(page, 'main a[href="/population/worklists"]');
  assert.equal((await page.textContent('h1')).trim(), 'Worklists');
  await assertAccessible(page, 'GP worklists');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a link worker finds a person and a discharged case, also at 390 px', async () => {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${demo.base}/sign-in`);
    await page.fill('#username', 'linkworker@demo.careweave');
    await page.fill('#password', demo.password);
    await submit(page, 'button[type=submit]');
    const at = `${viewport.width} px`;

    // One of their people, found by family name from the search page.
    await page.goto(`${demo.base}/people`);
    const person = page.locator('table a').first();
    const name = (await person.textContent()).trim();
    const href = await person.getAttribute('href');
    await page.goto(`${demo.base}/find`);
    await assertAccessible(page, `link worker find a person ${at}`);
    await page.fill('#q', name.split(',')[0]);
    await submit(page, 'form[role=search] button');
    assert.ok(await page.locator(`[data-testid=people-results] a[href="${href}"]`).count() === 1, 'the person is found');
    assert.equal(await scrollsSideways(page), false, `search results do not scroll sideways at ${at}`);
    await assertAccessible(page, `link worker search results ${at}`);

    // My people filters the same way.
    await page.goto(`${demo.base}/people?q=${encodeURIComponent(name.split(',')[0])}`);
    assert.ok(await page.locator(`table a[href="${href}"]`).count() === 1);
    await assertAccessible(page, `my people filtered ${at}`);

    // My cases: a discharged case is found with the filter and can be reopened from its page.
    await page.goto(`${demo.base}/cases`);
    await assertAccessible(page, `my cases open ${at}`);
    await submit(page, '[data-testid=case-filter] a[href="/cases?status=discharged"]');
    const discharged = page.locator('table tbody tr');
    assert.ok(await discharged.count() >= 1, 'a discharged case is listed');
    assert.match(await discharged.first().textContent(), /Discharged/);
    assert.equal(await scrollsSideways(page), false, `my cases do not scroll sideways at ${at}`);
    await assertAccessible(page, `my cases discharged ${at}`);
    await submit(page, 'table tbody tr a');
    assert.equal(await page.locator('form[action$="/reopen"]').count(), 1, 'the case offers reopening');

    // The Casework group's landing page lists the worker's pages.
    await page.goto(`${demo.base}/menu/casework`);
    assert.ok(await page.locator('main a[href="/people"]').count() === 1);
    assert.equal(await scrollsSideways(page), false, `the casework menu does not scroll sideways at ${at}`);
    await assertAccessible(page, `casework menu ${at}`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('a PCN worker refers from a worklist row in three clicks', async () => {
  const { context, page, errors } = await openAs(browser, demo.base, 'caseworker@demo.careweave', demo.password);
  await page.goto(`${demo.base}/population/worklists/frailty`);
  await assertAccessible(page, 'PCN worker worklist');
  let clicks = 0;
  await submit(page, '[data-testid=refer] >> nth=0');
  clicks += 1;
  // The reason is the row's criteria in words, the contact comes from the record, the service is
  // the worker's own.
  const reason = await page.inputValue('#reason');
  assert.match(reason, /^Found by the .* worklist: /);
  assert.doesNotMatch(reason, /_/, 'no raw criterion names');
  assert.ok((await page.inputValue('#contact')).length > 0);
  assert.ok(await page.locator('input[name=service]:checked').count() === 1);
  await assertAccessible(page, 'referral from a worklist row');
  await page.check('#consent');
  clicks += 1;
  await submit(page, 'form[action="/referrals/new"] button:has-text("Send referral")');
  clicks += 1;
  assert.match(page.url(), /\/referrals\/\d+\?sent=1$/, await page.textContent('main'));
  assert.equal(clicks, 3);
  await assertAccessible(page, 'referral sent from a worklist');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a PCN manager reads the reports, the profile and the worklists with no 403', async () => {
  const { context, page, errors } = await openAs(browser, demo.base, 'manager@demo.careweave', demo.password);
  const items = await header(page);
  assert.ok(items.length <= 7, JSON.stringify(items));
  assert.ok(!items.some((i) => i.href === '/people' || i.href === '/find'), 'no person records');
  await submit(page, 'header a[href="/menu/population"]');
  await assertAccessible(page, 'manager population menu');
  const pages = await page.$$eval('main a.nhsuk-card__link', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of ['/population', '/population/worklists', '/casework/reports', '/workforce', '/evaluation']) {
    assert.ok(pages.includes(href), `${href} in ${pages}`);
  }
  for (const href of pages) {
    const response = await page.goto(`${demo.base}${href}`);
    assert.equal(response.status(), 200, href);
    await assertAccessible(page, `manager ${href}`);
  }
  const response = await page.goto(`${demo.base}/people`);
  assert.equal(response.status(), 403, 'no caseload');
  assert.deepEqual(errors, []);
  await context.close();
});
