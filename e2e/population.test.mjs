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
  assert.match(pcnTitle, /^PCN /);
  await assertAccessible(page, 'population dashboard');
  // Choose a practice with the place picker.
  const practice = await page.$eval('#place', (s) => [...s.options].find((o) => o.value.startsWith('practice:')).value);
  await page.selectOption('#place', practice);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/population"] button')]);
  assert.match((await page.textContent('[data-testid=place-title]')).trim(), /^PRACTICE /);
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
  const criteria = await page.$$eval('[data-testid=worklist] tbody tr td:nth-child(5)', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(criteria.length > 0, 'someone is on the frailty worklist');
  for (const c of criteria) assert.match(c, /^(moderate_frailty|severe_frailty)$/);
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
  assert.match(await page.textContent('main'), /Nobody is on this worklist/);
  await assertAccessible(page, 'empty worklist');
  await context.close();
});
