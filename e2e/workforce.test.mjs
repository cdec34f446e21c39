// Workforce planning in a real browser (issue 18): a commissioner opens the demo PCN's demand
// against the staff in post, builds a to-be scenario (a refused form first), exports it, reads the
// assumptions register and runs the waiting-list simulation. Every page passes axe-core; workers
// are refused.

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

test('a commissioner sees demand against supply for the demo PCN and builds a to-be scenario', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'commissioner@demo.careweave', demo.password);
  await page.goto(`${demo.base}/workforce`);
  assert.match((await page.textContent('[data-testid=place-title]')).trim(), /^PCN: /);
  const demand = parseFloat(await page.textContent('[data-testid=demand-wte]'));
  const supply = parseFloat(await page.textContent('[data-testid=supply-wte]'));
  assert.ok(demand > 0, `demand ${demand}`);
  assert.ok(supply > 0, `the demo's posts are in post: ${supply}`);
  assert.ok((await page.locator('svg.app-chart').count()) >= 2, 'role and level charts');
  assert.match(await page.textContent('svg.app-chart >> nth=0'), /register lines \d+/);
  const roles = await page.$$eval('[data-testid=roles] tbody tr', (rows) => rows.length);
  assert.ok(roles >= 5, `${roles} roles`);
  await assertAccessible(page, 'workforce plan');

  // A refused scenario comes back with the error summary, 422 and what was typed.
  await page.fill('#name', 'More coordinators');
  await page.fill('#shift_percent', '150');
  await page.selectOption('#shift_from', 'advanced');
  await page.selectOption('#shift_to', 'generic');
  const [refused] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Compare with as is")')]);
  assert.equal(refused.status(), 422);
  assert.match(await page.textContent('.nhsuk-error-summary'), /at most 100%/);
  assert.equal(await page.inputValue('#shift_percent'), '150');
  assert.equal(await page.inputValue('#name'), 'More coordinators');
  await assertAccessible(page, 'workforce scenario refused');

  await page.fill('#shift_percent', '20');
  await page.selectOption('#post_role', 'care_coordinator');
  await page.fill('#post_wte', '1');
  await page.check('#post_arrs');
  const [ok] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Compare with as is")')]);
  assert.equal(ok.status(), 200);
  assert.match(await page.textContent('[data-testid=roles] thead'), /To be: gap/);
  assert.match(await page.textContent('[data-testid=to-be-arrs]'), /used, .* left/);
  await assertAccessible(page, 'workforce scenario');

  // The export repeats the page's query and carries both scenarios.
  const href = await page.getAttribute('a:has-text("Download these figures")', 'href');
  const csv = await page.request.get(`${demo.base}${href}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);
  const text = await csv.text();
  assert.match(text, /^level,place,place_name,scenario,role/);
  assert.match(text, /As is/);
  assert.match(text, /More coordinators/);
  await context.close();
});

test('the assumptions register and the waiting-list simulation are readable and accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'analyst@demo.careweave', demo.password);
  await page.goto(`${demo.base}/workforce/register`);
  assert.ok((await page.$$eval('[data-testid=register] tbody tr', (r) => r.length)) > 20);
  assert.match(await page.textContent('[data-testid=register]'), /Illustrative/);
  assert.match(await page.textContent('[data-testid=register]'), /140,000/);
  await assertAccessible(page, 'workforce register');

  await page.goto(`${demo.base}/workforce/simulate`);
  await assertAccessible(page, 'simulation form');
  await page.fill('#workers', '0');
  const [refused] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Run the simulation")')]);
  assert.equal(refused.status(), 422);
  assert.match(await page.textContent('.nhsuk-error-summary'), /number of workers/);
  await assertAccessible(page, 'simulation refused');
  await page.fill('#workers', '4');
  await page.fill('#replications', '50');
  const [ran] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Run the simulation")')]);
  assert.equal(ran.status(), 200);
  assert.match(await page.textContent('[data-testid=p90]'), /weeks/);
  assert.equal(await page.locator('svg.app-chart').count(), 1);
  await assertAccessible(page, 'simulation results');
  const href = await page.getAttribute('a:has-text("Download the results")', 'href');
  const csv = await page.request.get(`${demo.base}${href}`);
  assert.match(await csv.text(), /^service,replications,wait_p50_weeks/);
  await context.close();
});

test('a worker is not offered the workforce pages and is refused them', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, demo.base, 'linkworker@demo.careweave', demo.password);
  assert.equal(await page.locator('header a[href="/workforce"]').count(), 0);
  const response = await page.goto(`${demo.base}/workforce`);
  assert.equal(response.status(), 403);
  await context.close();
});
