// Issue 16 item 6 in a real browser, on the demo: a GP refers; the caseworker sees the count in
// the header, opens the notification (which does not name the person) and accepts the referral
// from it; the GP sees the outcome, marks it read and the count goes down; a link worker refers
// to a directory service, the provider is told and accepts, and the link worker is told; a
// worker's tasks list reviews due and actions past their date; the email choice returns a
// malformed address with the error summary; the page does not scroll sideways at 390 px. Every
// page on the way is scanned with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, openAs, submit, assertAccessible } from './harness.mjs';

/** The server's clock starts at 10:00 on Wednesday 2 December 2026 in London. */
const CLOCK = '2026-12-02T10:00:00Z';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

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

/** The header link's words for a screen reader, such as "Notifications, 2 new, 1 task". */
async function headerCount(page) {
  const hidden = await page.textContent('[data-testid=notifications-link] .nhsuk-u-visually-hidden');
  return `Notifications${hidden}`.replace(/\s+/g, ' ').trim();
}

/** The number the header's badge shows (0 when there is none). */
async function badge(page) {
  const b = page.locator('[data-testid=notifications-link] .app-count');
  return (await b.count()) ? Number(await b.textContent()) : 0;
}

/** Someone in the worker's people list with no casework, as a GP would know them. */
async function personToRefer(page) {
  await page.goto(`${demo.base}/people`);
  const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => {
    const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent.trim());
    return { href: tr.querySelector('a').getAttribute('href'), name: cells[0], nhs: cells[1], dob: cells[2], practice: cells[3] };
  }));
  for (const row of rows) {
    const text = await (await page.request.get(`${demo.base}${row.href}`)).text();
    if (text.includes('No cases or waiting referrals.')) return row;
  }
  throw new Error('no one in the care team is free of casework');
}

test('a GP refers, the team is told and accepts, the GP is told the outcome', async () => {
  const worker = await as('caseworker@demo.careweave');
  const { page } = worker;
  const person = await personToRefer(page);
  const [family, given] = person.name.split(', ');
  const [day, month, year] = person.dob.split(' ');
  await page.goto(`${demo.base}/`);
  const before = await badge(page);

  const gp = await as('referrer@demo.careweave');
  await gp.page.goto(`${demo.base}/referrals/new`);
  await gp.page.getByLabel('Focused Care', { exact: true }).check();
  await gp.page.fill('#nhs_number', person.nhs);
  await gp.page.fill('#given_name', given);
  await gp.page.fill('#family_name', family.charAt(0) + family.slice(1).toLowerCase());
  await gp.page.fill('#dob-day', day);
  await gp.page.fill('#dob-month', String(MONTHS.indexOf(month) + 1));
  await gp.page.fill('#dob-year', year);
  await gp.page.selectOption('#practice', { label: person.practice });
  await gp.page.fill('#contact', '07700 900 456 (synthetic)');
  await gp.page.fill('#reason', 'Struggling with money and the house since a fall');
  await gp.page.fill('#needs', 'Help with bills');
  await gp.page.check('#need-finances');
  await gp.page.check('#need-housing');
  await gp.page.check('#consent');
  await gp.page.check('#share_detail');
  await submit(gp.page, 'form[action="/referrals/new"] button[type=submit]:not([name=lookup])');
  assert.match(gp.page.url(), /\/referrals\/\d+\?sent=1$/);
  const referral = gp.page.url().replace(/\?sent=1$/, '').replace(demo.base, '');

  // The caseworker's header counts one more; the notification names the service, not the person.
  await page.goto(`${demo.base}/`);
  assert.equal(await badge(page), before + 1);
  assert.match(await headerCount(page), /^Notifications, \d+ new/);
  await submit(page, '[data-testid=notifications-link]');
  assert.equal((await page.textContent('h1')).trim(), 'Notifications');
  await assertAccessible(page, 'notifications of a caseworker');
  const item = page.locator('[data-testid=notification]').first();
  assert.match(await item.textContent(), /A new referral is waiting for Focused Care\. Urgency: /);
  assert.doesNotMatch(await item.textContent(), new RegExp(given));
  assert.match(await item.textContent(), /New/);
  // Its link opens the referral, where the caseworker accepts it.
  await submit(page, `[data-testid=notification] a[href="${referral}"]`);
  assert.match(await page.textContent('h1'), /^Referral for /);
  await page.check('#outcome');
  await page.fill('#reason', 'Needs in money and housing; agrees to visits');
  await page.selectOption('#lead', 'later');
  await page.selectOption('#intensity', 'high');
  await submit(page, 'form[action$="/triage"] button[type=submit]');
  assert.match(page.url(), /\/cases\/\d+$/, await page.textContent('main'));

  // The caseworker's tasks: reviews due this week and actions past their date.
  await page.goto(`${demo.base}/notifications`);
  assert.match(await page.textContent('#tasks'), /Tasks/);
  const tasks = await page.locator('[data-testid=task-reviews] li, [data-testid=task-actions] li').count();
  assert.ok(tasks > 0, 'the demo gives the caseworker tasks');
  assert.match(await headerCount(page), new RegExp(`${tasks} tasks?$`));

  // The GP is told the outcome, opens it and marks everything read.
  await gp.page.goto(`${demo.base}/notifications`);
  const outcome = gp.page.locator('[data-testid=notification]', { hasText: 'Focused Care' }).first();
  assert.match(await outcome.textContent(), /Your referral to Focused Care, sent on 2 December 2026, was accepted\./);
  await assertAccessible(gp.page, 'notifications of a GP');
  const unread = await badge(gp.page);
  assert.ok(unread >= 1);
  // A GP has no caseload, so no tasks section.
  assert.equal(await gp.page.locator('#tasks').count(), 0);
  await submit(gp.page, '[data-testid=notification] form button');
  assert.equal(await badge(gp.page), unread - 1);
  if (unread > 1) {
    await submit(gp.page, 'form[action="/notifications/read-all"] button');
  }
  assert.equal(await badge(gp.page), 0);
  assert.equal(await headerCount(gp.page), 'Notifications, none new');
  assert.match(await gp.page.textContent('#list'), /No new notifications/);
  await submit(gp.page, `a[href="${referral}"]`);
  assert.match(await gp.page.textContent('main'), /Accepted/);
  await assertAccessible(gp.page, 'GP follows the outcome from a notification');

  // The email choice: a malformed address comes back with the error summary and what was typed.
  await gp.page.goto(`${demo.base}/notifications`);
  await gp.page.fill('#email', 'rae at surgery');
  await submit(gp.page, 'form[action="/notifications/email"] button');
  assert.match(await gp.page.textContent('.nhsuk-error-summary'), /correct format/);
  assert.equal(await gp.page.inputValue('#email'), 'rae at surgery');
  await assertAccessible(gp.page, 'notifications email with an error');
  await gp.page.fill('#email', 'rae.referrer@example.nhs.uk');
  await submit(gp.page, 'form[action="/notifications/email"] button');
  assert.match(await gp.page.textContent('[data-testid=email-on]'), /rae\.referrer@example\.nhs\.uk/);

  // On a phone the page does not scroll sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${demo.base}/notifications`);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true,
    'the notifications page does not scroll sideways on a phone');
  await assertAccessible(page, 'notifications on a phone');
  assert.deepEqual(worker.errors, []);
  assert.deepEqual(gp.errors, []);
  await gp.context.close();
  await worker.context.close();
});

test('a directory referral tells the provider, and its answer tells the referrer', async () => {
  const worker = await as('linkworker@demo.careweave');
  const { page } = worker;
  await page.goto(`${demo.base}/people`);
  await submit(page, 'table a');
  const person = new URL(page.url()).pathname.split('/').pop();
  await page.goto(`${demo.base}/directory/services/hillside-befriending?person=${person}`);
  await page.fill('#refer-note', 'Would like someone to talk to each week');
  await submit(page, 'form[action$="/refer"] button');
  assert.match(await page.textContent('main'), /Waiting for the provider/);

  const provider = await as('provider@demo.careweave');
  await provider.page.goto(`${demo.base}/notifications`);
  const told = provider.page.locator('[data-testid=notification]', { hasText: 'Hillside Befriending' }).first();
  assert.match(await told.textContent(), /A new directory referral to Hillside Befriending Service is waiting for your organisation\./);
  await assertAccessible(provider.page, 'notifications of a provider');
  await submit(provider.page, '[data-testid=notification] a[href="/directory/referrals"]');
  const card = provider.page.locator('[data-testid=incoming-referral]', { hasText: 'Would like someone to talk to' });
  await card.locator('input[name=note]').fill('A volunteer will ring');
  await Promise.all([provider.page.waitForNavigation(), card.locator('button[value=accept]').click()]);
  await provider.context.close();

  await page.goto(`${demo.base}/notifications`);
  const answer = page.locator('[data-testid=notification]', { hasText: 'Your directory referral' }).first();
  assert.match(await answer.textContent(), /Your directory referral to Hillside Befriending Service was accepted by the service\./);
  await assertAccessible(page, 'notifications of a link worker');
  assert.deepEqual(worker.errors, []);
  await worker.context.close();
});
