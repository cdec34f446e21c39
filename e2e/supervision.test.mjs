// Supervision and training in a real browser. The demo supervisor finds the link worker's last
// session on their supervision page, opens it, and records a new one (an empty form is refused with
// the error summary, which takes the keyboard to the field to fill); the link worker sees both
// sessions, marks an agreed action done from the keyboard, and adds CPD to their training after an
// error; the team view shows the link worker's expired and soon-due training. Admins, other workers
// and analysts are refused the session. Every distinct page on the way is scanned with axe-core.

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

const as = (user) => openAs(browser, demo.base, user, demo.password);

/** A date `days` from today as the three boxes of a date input. */
function boxes(days = 0) {
  const d = new Date(Date.now() + days * 86_400_000);
  return { day: String(d.getDate()), month: String(d.getMonth() + 1), year: String(d.getFullYear()) };
}

async function fillDate(page, prefix, { day, month, year }) {
  await page.fill(`#${prefix}-day`, day);
  await page.fill(`#${prefix}-month`, month);
  await page.fill(`#${prefix}-year`, year);
}

let sessionUrl;

test('a supervisor reads the last session and records a new one', async () => {
  const { context, page, errors } = await as('supervisor@demo.careweave');
  // The menu offers Supervision (the shell test checks every role's menu); on a narrow window it
  // sits under "More", so the page is opened directly.
  await page.goto(`${demo.base}/supervision`);
  const row = page.locator('#supervisees ~ table tr', { hasText: 'Lee Linkworker' });
  assert.doesNotMatch(await row.textContent(), /None yet/, 'the demo session is listed');
  await assertAccessible(page, 'supervision hub as supervisor');
  await submit(page, 'a:has-text("Lee Linkworker")');
  await assertAccessible(page, 'supervision with a supervisee');
  await submit(page, 'table a[href^="/supervision/sessions/"]');
  assert.match(await page.textContent('main'), /Feeling stretched by the evening visits/);
  assert.match(await page.textContent('main'), /Book a place on the Mental Health First Aid refresher/);
  await assertAccessible(page, 'supervision session as supervisor');
  await page.goBack();

  await submit(page, 'a:has-text("Record a session")');
  await assertAccessible(page, 'record a supervision session');
  await fillDate(page, 'session_held', boxes(0));
  await page.fill('#action_1', 'Write up the housing cases');
  await submit(page, 'form button[type=submit]');
  const summary = await page.textContent('.nhsuk-error-summary');
  assert.match(summary, /Enter notes for at least one section/);
  assert.match(summary, /Enter the date the action is due/);
  assert.equal(await page.inputValue('#action_1'), 'Write up the housing cases');
  await assertAccessible(page, 'record a supervision session with errors');
  await page.click('.nhsuk-error-summary a[href="#caseload"]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'caseload');
  await page.keyboard.type('Housing cases moving; one to close next month');
  await fillDate(page, 'action_1_due', boxes(7));
  await fillDate(page, 'next_session', boxes(28));
  await submit(page, 'form button[type=submit]');
  sessionUrl = page.url();
  assert.match(sessionUrl, /\/supervision\/sessions\/\d+$/);
  assert.match(await page.textContent('main'), /Housing cases moving/);
  assert.match(await page.textContent('main'), /Write up the housing cases/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the worker sees their sessions and marks an action done from the keyboard', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/supervision`);
  assert.equal(await page.locator('#mine ~ table tbody tr').count(), 2);
  assert.equal(await page.locator('#supervisees').count(), 0, 'a worker supervises no one');
  await assertAccessible(page, 'supervision hub as worker');
  await page.goto(sessionUrl);
  const button = page.locator('button', { hasText: 'Mark done' }).first();
  await button.focus();
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  assert.equal(await page.locator('button', { hasText: 'Mark done' }).count(), 0);
  await assertAccessible(page, 'supervision session as worker');
  assert.deepEqual(errors, []);
  await context.close();
});

test('training shows expiry and status, and CPD needs its hours', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/supervision`);
  await submit(page, 'a:has-text("Your training records")');
  const table = await page.textContent('table');
  assert.match(table, /Mental Health First Aid.*Due within 60 days/s);
  assert.match(table, /Safeguarding adults level 2.*Expired/s);
  await assertAccessible(page, 'training records');
  await page.selectOption('#training_kind', 'cpd');
  await page.fill('#training_title', 'Trauma-informed practice');
  await fillDate(page, 'training_completed', boxes(-3));
  await submit(page, 'form[action^="/training/staff/"] button');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter how many hours of CPD this was/);
  assert.equal(await page.inputValue('#training_title'), 'Trauma-informed practice');
  assert.equal(await page.inputValue('#training_kind'), 'cpd');
  await assertAccessible(page, 'training records with an error');
  await page.fill('#training_hours', '2.5');
  await submit(page, 'form[action^="/training/staff/"] button');
  assert.match(await page.textContent('table'), /Trauma-informed practice \(2\.5 hours\)/);
  assert.deepEqual(errors, []);
  await context.close();

  const sup = await as('supervisor@demo.careweave');
  await sup.page.goto(`${demo.base}/supervision`);
  await submit(sup.page, 'a:has-text("Team training")');
  const lee = await sup.page.locator('tr', { hasText: 'Lee Linkworker' }).textContent();
  assert.match(lee, /Safeguarding adults level 2, expired/);
  assert.match(lee, /Mental Health First Aid, expires/);
  await assertAccessible(sup.page, 'team training');
  assert.deepEqual(sup.errors, []);
  await sup.context.close();
});

test('nobody else opens the session, and only supervisors and admins see the team view', async () => {
  for (const user of ['admin@demo.careweave', 'caseworker@demo.careweave', 'analyst@demo.careweave']) {
    const { context, page } = await as(user);
    const response = await page.goto(sessionUrl);
    assert.equal(response.status(), 403, user);
    assert.doesNotMatch(await page.textContent('main'), /Housing cases/);
    await context.close();
  }
  const { context, page } = await as('analyst@demo.careweave');
  assert.equal((await page.goto(`${demo.base}/training/team`)).status(), 403);
  await assertAccessible(page, 'team training refused');
  await context.close();
});
