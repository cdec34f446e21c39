// The foundation's shell in a real browser: every role signs in to the demo, visits every page its
// navigation offers, and each page passes an axe-core WCAG 2.2 A/AA scan. Forms in their error
// state are scanned too, because that is where accessibility most often breaks.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, signIn, assertAccessible, submit } from './harness.mjs';

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

const roles = [
  { user: 'admin@demo.careweave', expect: ['Home', 'Users', 'Audit log', 'Directory data', 'Supervision'] },
  { user: 'linkworker@demo.careweave', expect: ['Home', 'My people', 'Casework', 'MDT meetings', 'Directory', 'Worklists', 'Supervision'] },
  { user: 'caseworker@demo.careweave', expect: ['Home', 'My people', 'Casework', 'MDT meetings', 'Directory', 'Worklists', 'Supervision'] },
  { user: 'supervisor@demo.careweave', expect: ['Home', 'My people', 'Casework', 'MDT meetings', 'Directory', 'Population', 'Worklists', 'Service gaps', 'Supervision'] },
  { user: 'referrer@demo.careweave', expect: ['Home', 'Refer someone', 'Directory', 'Supervision'] },
  { user: 'analyst@demo.careweave', expect: ['Home', 'Population', 'Service gaps', 'Supervision'] },
  { user: 'commissioner@demo.careweave', expect: ['Home', 'Population', 'Service gaps', 'Supervision'] },
  { user: 'provider@demo.careweave', expect: ['Home', 'My people', 'Casework', 'MDT meetings', 'Directory', 'Worklists', 'Supervision'] },
];

for (const { user, expect } of roles) {
  test(`${user} signs in and every page in their menu is accessible`, async () => {
    const context = await browser.newContext({ bypassCSP: false });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, demo.base, user, demo.password);
    const links = await page.$$eval('.nhsuk-header__navigation-link[href]', (as) =>
      as.map((a) => ({ label: a.textContent.trim(), href: a.getAttribute('href') })));
    assert.deepEqual(links.map((l) => l.label), expect);
    for (const { label, href } of links) {
      const response = await page.goto(`${demo.base}${href}`);
      assert.equal(response.status(), 200, `${user} ${href}`);
      await assertAccessible(page, `${user} ${label}`);
    }
    assert.deepEqual(errors, [], 'no script errors');
    await context.close();
  });
}

test('a worker opens a person from their list and the record page is accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);
  await page.goto(`${demo.base}/people`);
  const first = page.locator('table a').first();
  const name = (await first.textContent()).trim();
  await Promise.all([page.waitForNavigation(), first.click()]);
  assert.equal((await page.textContent('h1')).trim(), name);
  await assertAccessible(page, 'person record');
  await context.close();
});

test('forms in their error state keep what was typed and stay accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Sign-in with a wrong password: one message, whichever part was wrong.
  await page.goto(`${demo.base}/sign-in`);
  await page.fill('#username', 'linkworker@demo.careweave');
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter a correct username and password/);
  assert.equal(await page.inputValue('#username'), 'linkworker@demo.careweave');
  await assertAccessible(page, 'sign in with error');

  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);
  await page.goto(`${demo.base}/people/new`);
  await page.fill('#nhs_number', '943 476 5918');
  await page.fill('#given_name', 'Grace');
  await page.fill('#dob-day', '31');
  await page.fill('#dob-month', '2');
  await page.fill('#dob-year', '1961');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  const summary = await page.textContent('.nhsuk-error-summary');
  assert.match(summary, /check digit does not match/);
  assert.match(summary, /Date of birth must be a real date/);
  assert.match(summary, /Enter a last name/);
  assert.equal(await page.inputValue('#given_name'), 'Grace');
  assert.equal(await page.inputValue('#dob-day'), '31');
  await assertAccessible(page, 'add person with errors');

  // The error summary's links move focus to the field they name.
  await page.click('.nhsuk-error-summary a[href="#nhs_number"]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'nhs_number');
  await context.close();
});

test('the not-found page is accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${demo.base}/no/such/page`);
  assert.equal(response.status(), 404);
  await assertAccessible(page, 'not found');
  await context.close();
});

test('too many sign-in attempts get an accessible page saying when to try again', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  let status = 0;
  for (let i = 0; i < 7 && status !== 429; i += 1) {
    await page.goto(`${demo.base}/sign-in`);
    await page.fill('#username', 'nobody@demo.careweave');
    await page.fill('#password', 'not the password');
    const [response] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    status = response.status();
  }
  assert.equal(status, 429);
  assert.match(await page.textContent('.nhsuk-error-summary'), /too many attempts to sign in\. Wait \d+ seconds/);
  await assertAccessible(page, 'sign in throttled');
  await context.close();
});

test('an admin opens an account, resets its password and both pages are accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const me = await signIn(page, demo.base, 'admin@demo.careweave', demo.password);
  await page.goto(`${demo.base}/admin/users`);
  // Someone else's account in the admin's organisation.
  const others = page.locator('table a').filter({ hasNotText: me.trim() });
  await Promise.all([page.waitForNavigation(), others.first().click()]);
  assert.match(await page.textContent('main'), /Roles/);
  await assertAccessible(page, 'admin account page');
  await submit(page, 'form[action$="/reset-password"] button');
  assert.match(await page.textContent('#new-password'), /^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){4}$/);
  await assertAccessible(page, 'admin account password reset');
  await context.close();
});
