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

// The header groups pages by task (Casework, Population, Admin), so every role sees a handful of
// items; a group's item opens a landing page listing its pages, and the test visits those too.
const roles = [
  { user: 'admin@demo.careweave', expect: ['Home', 'Place', 'Admin', 'Supervision'] },
  { user: 'linkworker@demo.careweave', expect: ['Home', 'Find a person', 'Casework', 'Directory', 'Supervision'] },
  { user: 'caseworker@demo.careweave', expect: ['Home', 'Find a person', 'Casework', 'Directory', 'Population', 'Supervision'] },
  { user: 'supervisor@demo.careweave', expect: ['Home', 'Find a person', 'Casework', 'Directory', 'Population', 'Supervision'] },
  { user: 'referrer@demo.careweave', expect: ['Home', 'Find a person', 'Refer someone', 'Directory', 'Population', 'Supervision'] },
  { user: 'analyst@demo.careweave', expect: ['Home', 'Population', 'Supervision'] },
  { user: 'commissioner@demo.careweave', expect: ['Home', 'Population', 'Supervision'] },
  { user: 'provider@demo.careweave', expect: ['Home', 'Find a person', 'Casework', 'Directory', 'Supervision'] },
  { user: 'manager@demo.careweave', expect: ['Home', 'Population', 'Supervision'] },
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
    const grouped = [];
    for (const { label, href } of links) {
      const response = await page.goto(`${demo.base}${href}`);
      assert.equal(response.status(), 200, `${user} ${href}`);
      await assertAccessible(page, `${user} ${label}`);
      if (href.startsWith('/menu/')) {
        grouped.push(...await page.$$eval('main a.nhsuk-card__link', (as) =>
          as.map((a) => ({ label: a.textContent.trim(), href: a.getAttribute('href') }))));
      }
    }
    for (const { label, href } of grouped) {
      const response = await page.goto(`${demo.base}${href}`);
      assert.equal(response.status(), 200, `${user} ${href}`);
      await assertAccessible(page, `${user} ${label}`);
    }
    // Charity staff are not offered practice worklists, which would be empty for them.
    if (/linkworker|provider|supervisor/.test(user)) {
      assert.ok(!grouped.some((l) => l.href === '/population/worklists'), `${user} has no worklists`);
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

  // The consent form on the record: its error state, then a saved version.
  await page.check('#gp-codes_only');
  await Promise.all([page.waitForNavigation(), page.click('#consent ~ form button[type=submit]')]);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select how the person told you/);
  assert.ok(await page.isChecked('#gp-codes_only'), 'the choice is kept');
  await assertAccessible(page, 'consent form with errors');
  for (const radio of await page.$$('#consent ~ form input[type=radio][value=share]')) await radio.check();
  await page.check('#carers-no');
  await page.check('#sensitive-no');
  await page.check('#method-phone');
  await Promise.all([page.waitForNavigation(), page.click('#consent ~ form button[type=submit]')]);
  assert.match(await page.textContent('#consent ~ dl'), /Codes only/);
  await assertAccessible(page, 'person record with sharing preferences');
  await context.close();
});

test('break-glass: the refused record offers it, the banner shows it, the admin reviews it', async () => {
  const context = await browser.newContext();
  const linkworker = await context.newPage();
  await signIn(linkworker, demo.base, 'linkworker@demo.careweave', demo.password);
  await linkworker.goto(`${demo.base}/people`);
  const hrefs = await linkworker.$$eval('table a', (as) => as.map((a) => a.getAttribute('href')));
  await context.close();

  // The PCN's caseworker finds a person of the charity's link worker they have no access to.
  const caseworkerContext = await browser.newContext();
  const page = await caseworkerContext.newPage();
  await signIn(page, demo.base, 'caseworker@demo.careweave', demo.password);
  let refused;
  for (const href of hrefs) {
    const response = await page.goto(`${demo.base}${href}`);
    if (response.status() === 403) { refused = href; break; }
  }
  assert.ok(refused, 'a record the caseworker may not open');
  await assertAccessible(page, 'refused record with break-glass form');
  await page.check('#category');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit].nhsuk-button--warning')]);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter the reason/);
  await assertAccessible(page, 'break-glass form with errors');
  await page.fill('#reason', 'Called by the ambulance crew at the address');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit].nhsuk-button--warning')]);
  assert.match(await page.textContent('.nhsuk-warning-callout'), /Called by the ambulance crew/);
  await assertAccessible(page, 'record with break-glass banner');
  await caseworkerContext.close();

  // The PCN's admin (the caseworker's organisation) reviews it.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, demo.base, 'admin@demo.careweave', demo.password);
  await admin.goto(`${demo.base}/admin/break-glass`);
  assert.match(await admin.textContent('main'), /Called by the ambulance crew/);
  await assertAccessible(admin, 'break-glass review queue');
  const form = admin.locator('form[action^="/admin/break-glass/"]').first();
  await Promise.all([admin.waitForNavigation(), form.locator('button').click()]);
  assert.match(await admin.textContent('.nhsuk-error-summary'), /Enter a note/);
  await assertAccessible(admin, 'break-glass review with errors');
  await admin.locator('form[action^="/admin/break-glass/"] textarea').first().fill('Confirmed with the crew');
  await Promise.all([admin.waitForNavigation(), admin.locator('form[action^="/admin/break-glass/"] button').first().click()]);
  assert.match(await admin.textContent('main'), /Reviewed by Alex Admin/);
  await adminContext.close();
});

test('an admin issues an API token, sees it once, and a FHIR client reads with it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'admin@demo.careweave', demo.password);
  await page.goto(`${demo.base}/admin/api-tokens`);
  assert.match(await page.textContent('main'), /Demo FHIR client/);
  await page.fill('#client_name', 'Riverside EMIS');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/api-tokens"] button')]);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select the account the token acts for/);
  assert.equal(await page.inputValue('#client_name'), 'Riverside EMIS', 'what was typed is kept');
  await assertAccessible(page, 'API token form with errors');
  await page.selectOption('#acts_for', { index: 1 });
  await page.check('#scope');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/api-tokens"] button')]);
  const token = (await page.textContent('#issued-token')).trim();
  assert.ok(token.length >= 43, 'the token is shown once');
  await assertAccessible(page, 'API token issued');
  const response = await fetch(`${demo.base}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).resourceType, 'Bundle');
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
