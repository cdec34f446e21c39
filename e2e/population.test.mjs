// The population engine's results in a real browser: the demo runs the engine on its synthetic
// neighbourhood and loads the results. An analyst reads the dashboard (aggregates only, with a
// place picker, pyramid, segments and equity charts); a PCN caseworker opens a worklist, sees which
// criteria each person met, and opens a person's record from it. Every page passes axe-core.

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

test('an analyst reads the population dashboard for a place and it is accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'analyst@demo.careweave', demo.password);
  await page.goto(`${demo.base}/population`);
  for (const id of ['age-sex', 'segments', 'tiers', 'segments-imd', 'segments-ethnicity']) {
    assert.equal(await page.locator(`[data-testid=breakdown-${id}] svg`).count(), 1, `chart ${id}`);
  }
  const pcnTitle = (await page.textContent('[data-testid=place-title]')).trim();
  assert.match(pcnTitle, /^Primary care network: /);
  await assertAccessible(page, 'population dashboard');
  // Choose a practice with the place picker.
  const practice = await page.$eval('#place', (s) => [...s.options].find((o) => o.value.startsWith('practice:')).value);
  await page.selectOption('#place', practice);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/population"] button')]);
  assert.match((await page.textContent('[data-testid=place-title]')).trim(), /^GP practice: /);
  await assertAccessible(page, 'population dashboard practice');
  // Analysts see aggregates only: the worklists are not theirs.
  const response = await page.goto(`${demo.base}/population/worklists`);
  assert.equal(response.status(), 403);
  await context.close();
});

test('a PCN caseworker opens a worklist, reads the criteria met, opens a record and starts a referral', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'caseworker@demo.careweave', demo.password);
  await page.goto(`${demo.base}/population/worklists`);
  await assertAccessible(page, 'population worklists');
  await Promise.all([page.waitForNavigation(), page.click('a:has-text("Moderate or severe frailty")')]);
  assert.equal((await page.textContent('h1')).trim(), 'Moderate or severe frailty');
  const criteria = await page.$$eval('[data-testid=worklist] tbody tr td:nth-child(3) li', (lis) => lis.map((t) => t.textContent.trim()));
  assert.ok(criteria.length > 0, 'someone is on the frailty worklist');
  // Criteria read as words, never as the rule's internal name.
  for (const c of criteria) assert.doesNotMatch(c, /_/);
  await assertAccessible(page, 'population worklist');
  const worklistUrl = page.url();
  const first = page.locator('[data-testid=worklist] tbody td:first-child a').first();
  const [opened] = await Promise.all([page.waitForNavigation(), first.click()]);
  assert.match(page.url(), /\/people\/\d+$/);
  assert.equal(opened.status(), 200, 'the practice team may open the record of someone case finding found');
  const personId = page.url().match(/\/people\/(\d+)$/)[1];
  // One action from the worklist row starts a casework referral with the person and cohort filled in.
  await page.goto(worklistUrl);
  const [form] = await Promise.all([page.waitForNavigation(), page.locator('[data-testid=refer]').first().click()]);
  assert.equal(form.status(), 200);
  assert.match(page.url(), new RegExp(`/referrals/new\\?person=${personId}&source=worklist&cohort=`));
  assert.match(await page.textContent('main'), /Found by the case-finding worklist/);
  assert.equal(await page.inputValue('input[name=cohort]'), 'frailty');
  assert.notEqual(await page.inputValue('input[name=nhs_number]'), '');
  await assertAccessible(page, 'referral from a worklist');
  await context.close();
});

test('a charity worker sees nobody on a practice worklist', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);
  await page.goto(`${demo.base}/population/worklists/frailty`);
  assert.match(await page.textContent('main'), /Nobody on this worklist matches/);
  await assertAccessible(page, 'empty worklist');
  await context.close();
});

test('a GP works a long worklist: paged, sorted, filtered, exported, and a person set aside', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, demo.base, 'referrer@demo.careweave', demo.password);
  // The GP's menu offers worklists, and the list is their own practice's.
  await page.goto(`${demo.base}/population/worklists/core20plus5`);
  assert.equal((await page.textContent('h1')).trim(), 'Core20PLUS5 groups');
  const rows = await page.locator('[data-testid=worklist] tbody tr').count();
  assert.ok(rows > 0 && rows <= 50, `one page of at most 50 rows, got ${rows}`);
  const count = (await page.textContent('[data-testid=count]')).trim();
  const total = Number(count.match(/of (\d+) people/)[1]);
  assert.ok(total >= rows);
  // A GP does not open careweave records (the access policy), so names are not links.
  assert.equal(await page.locator('[data-testid=worklist] tbody td:first-child a').count(), 0);
  const main = await page.textContent('main');
  assert.doesNotMatch(main, /\b(core20|plus_carer|five_smi)\b/, 'no raw criterion names');
  const scrolls = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(scrolls, false, 'the list does not scroll sideways at 390 px');
  await assertAccessible(page, 'worklist at 390 px');

  // Sort oldest first, then filter by one criterion; the filters stay in the page links.
  await page.selectOption('#sort', 'age');
  // Filter by a criterion the first person met, so that the filtered list is not empty.
  const met = (await page.locator('[data-testid=worklist] tbody td:nth-child(3) li').first().textContent()).trim();
  const criterion = await page.$eval('#criterion', (s, label) => [...s.options].find((o) => o.textContent.trim() === label).value, met);
  await page.selectOption('#criterion', criterion);
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=filters] button')]);
  assert.match(page.url(), /sort=age/);
  assert.ok(await page.locator('[data-testid=worklist] tbody tr').count() > 0, 'the filter keeps the people who met it');
  const ages = await page.$$eval('[data-testid=worklist] tbody td:first-child', (tds) =>
    tds.map((t) => Number((t.textContent.match(/Age (\d+)/) || [0, -1])[1])));
  for (let i = 1; i < ages.length; i += 1) assert.ok(ages[i - 1] >= ages[i], `sorted oldest first: ${ages}`);

  // Export the filtered list as CSV.
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(),
    await page.getAttribute('[data-testid=export]', 'href'));
  const lines = csv.trim().split('\r\n');
  assert.match(lines[0], /^NHS number,Name,Practice code,Practice,Segment,Criteria met/);
  assert.ok(lines.length > 1);

  // Set the first person aside: the form refuses a missing reason and keeps what was typed.
  await page.goto(`${demo.base}/population/worklists/core20plus5`);
  const before = Number((await page.textContent('[data-testid=count]')).match(/of (\d+) people/)[1]);
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid=set-aside]').first().click()]);
  await assertAccessible(page, 'set aside form');
  await page.check('#decision');
  await page.fill('#review-day', '1');
  await page.fill('#review-month', '1');
  await page.fill('#review-year', String(new Date().getFullYear() + 1));
  const [refused] = await Promise.all([page.waitForNavigation(), page.click('form[action$="/set-aside"] button')]);
  assert.equal(refused.status(), 422);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter why this person is being set aside/);
  assert.equal(await page.inputValue('#review-day'), '1');
  await assertAccessible(page, 'set aside form with an error');
  await page.fill('#reason', 'In hospital until the new year');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/set-aside"] button')]);
  assert.match(await page.textContent('[data-testid=saved]'), /set aside/);
  const after = Number((await page.textContent('[data-testid=count]')).match(/of (\d+) people/)[1]);
  assert.equal(after, before - 1, 'the list shrinks as it is worked');
  await Promise.all([page.waitForNavigation(), page.click('[data-testid=other-view]')]);
  assert.match(await page.textContent('[data-testid=worklist]'), /In hospital until the new year/);
  await assertAccessible(page, 'people set aside');
  await context.close();
});
