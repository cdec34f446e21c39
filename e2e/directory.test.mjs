// The community services directory in a real browser: a link worker finds a service for a person,
// signposts them and refers them; the provider (a worker of Hillside Wellbeing Network) accepts; an
// empty search records an unmet need that the commissioner's gaps report counts. Every page on the
// way is scanned with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, signIn, assertAccessible } from './harness.mjs';

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

async function as(user) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, demo.base, user, demo.password);
  return { context, page, errors };
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

test('search → signpost and refer → the provider accepts, every page accessible', async () => {
  const worker = await as('linkworker@demo.careweave');
  const { page } = worker;

  // From a person's record to the directory.
  await page.goto(`${demo.base}/people`);
  await submit(page, 'table a');
  const personUrl = page.url();
  const name = (await page.textContent('h1')).trim();
  await assertAccessible(page, 'directory person record');
  await submit(page, 'a[href^="/directory?person="]');
  assert.match(await page.textContent('.nhsuk-lede-text'), /Finding a service for/);
  await assertAccessible(page, 'directory search for a person');

  // Search by need and words, anywhere (clear the person's postcode). The first search (the
  // person's postcode) folded the form away so its results come first; open it to change it.
  const folded = page.locator('[data-testid=search-form-folded] summary');
  if (await folded.count()) await folded.click();
  await page.selectOption('#need', 'befriending');
  await page.fill('#q', 'Hillside Befriending');
  await page.fill('#postcode', '');
  await submit(page, 'form[action="/directory"] button[type=submit]');
  await assertAccessible(page, 'directory search results');
  await submit(page, 'a[href^="/directory/services/hillside-befriending"]');
  assert.equal((await page.textContent('h1')).trim(), 'Hillside Befriending Service');
  await assertAccessible(page, 'directory service page');
  const serviceUrl = page.url();

  // Signpost: record it and get the plain-language summary.
  await page.fill('#signpost-note', 'Gave the leaflet at the home visit');
  await submit(page, 'form[action$="/signpost"] button');
  assert.match(await page.textContent('main'), /What it is/);
  assert.match(await page.textContent('main'), /01632 960001/);
  await assertAccessible(page, 'directory signpost summary');

  // Refer: the referral goes to the provider.
  await page.goto(serviceUrl);
  await page.fill('#refer-note', 'Feels lonely since moving; would like a weekly visit');
  await submit(page, 'form[action$="/refer"] button');
  assert.match(await page.textContent('main'), /Waiting for the provider/);
  assert.match(await page.textContent('main'), /Hillside Befriending Service/);
  await assertAccessible(page, 'directory person referrals');

  // The provider sees and accepts it.
  const provider = await as('provider@demo.careweave');
  await provider.page.goto(`${demo.base}/directory/referrals`);
  const card = provider.page.locator('[data-testid=incoming-referral]', { hasText: 'Feels lonely since moving' });
  assert.equal(await card.count(), 1);
  await assertAccessible(provider.page, 'directory provider referrals');
  await card.locator('input[name=note]').fill('A volunteer will call this week');
  await Promise.all([provider.page.waitForNavigation(), card.locator('button[value=accept]').click()]);
  assert.equal(await provider.page.locator('[data-testid=incoming-referral]', { hasText: 'Feels lonely since moving' }).count(), 0);
  await assertAccessible(provider.page, 'directory provider referrals answered');
  // Accepted, the person is listed for the provider, and the link opens their record.
  const family = new RegExp(name.split(/[ ,]/)[0], 'i');
  const link = provider.page.locator('[data-testid=accepted-referrals] a', { hasText: family });
  assert.ok((await link.count()) >= 1, 'the accepted person is listed');
  await Promise.all([provider.page.waitForNavigation(), link.first().click()]);
  assert.match(await provider.page.textContent('h1'), family);
  await assertAccessible(provider.page, 'directory provider opens an accepted referral');
  assert.deepEqual(provider.errors, []);
  await provider.context.close();

  // The worker sees the outcome on the person's directory page.
  await page.goto(`${personUrl}/directory`);
  assert.match(await page.textContent('main'), /Accepted/);
  assert.match(await page.textContent('main'), /A volunteer will call this week/);
  assert.match(await page.textContent('h1'), new RegExp(name.split(',')[0], 'i'));
  assert.deepEqual(worker.errors, []);
  await worker.context.close();
});

test('a search that finds nothing records an unmet need in two clicks, and the gaps report counts it', async () => {
  const worker = await as('caseworker@demo.careweave');
  const { page } = worker;
  await page.goto(`${demo.base}/directory?need=transport&q=hovercraft`);
  assert.match(await page.textContent('main'), /0 services found/);
  await assertAccessible(page, 'directory empty search');
  // Click 1 chooses the area; click 2 records the need (the need comes from the search).
  await page.selectOption('#unmet-area', { index: 0 });
  await submit(page, 'form[action="/directory/unmet-needs"] button');
  assert.match(await page.textContent('h1'), /Unmet need recorded/);
  await assertAccessible(page, 'directory unmet need recorded');
  await worker.context.close();

  const commissioner = await as('commissioner@demo.careweave');
  await commissioner.page.goto(`${demo.base}/directory/gaps`);
  assert.match(await commissioner.page.textContent('caption'), /Unmet needs by category and area/);
  // One need was recorded: small counts are never shown.
  assert.equal((await commissioner.page.textContent('[data-testid=gaps-total]')).trim(), '7 or fewer');
  await assertAccessible(commissioner.page, 'directory gaps report');
  await commissioner.context.close();
});

test('keeping the directory true and the admin pages are accessible', async () => {
  const supervisor = await as('supervisor@demo.careweave');
  await supervisor.page.goto(`${demo.base}/directory/review`);
  assert.match(await supervisor.page.textContent('h1'), /Keeping the directory true/);
  await assertAccessible(supervisor.page, 'directory review');
  await supervisor.page.goto(`${demo.base}/directory/services/hillside-befriending/report`);
  await submit(supervisor.page, 'form[action$="/report"] button');
  assert.match(await supervisor.page.textContent('.nhsuk-error-summary'), /Say what is wrong/);
  await assertAccessible(supervisor.page, 'directory report with error');
  await supervisor.context.close();

  const admin = await as('admin@demo.careweave');
  await admin.page.goto(`${demo.base}/directory/import`);
  assert.match(await admin.page.textContent('main'), /The directory holds 301 services/);
  await assertAccessible(admin.page, 'directory data');
  await admin.context.close();
});
