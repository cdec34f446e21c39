// Outcome measures in a real browser: the outcome measures page lists the instruments careweave
// ships and the demo service's schedule; a link worker takes ONS4 twice on a case with none yet
// (the form's error state keeps the answers given), and the case shows each score with its band
// and the change since the baseline; the team report pairs the measures. Every distinct page on
// the way is scanned with axe-core.

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

/** A date `offsetDays` from today (UTC, as the server checks dates), as the three boxes. */
function date(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86_400_000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

/** Answers the open ONS4 form: the four answers in order, the date and the point. */
async function answerOns4(page, [satisfied, worthwhile, happy, anxious], when, point) {
  for (const [item, value] of [['satisfied', satisfied], ['worthwhile', worthwhile], ['happy', happy], ['anxious', anxious]]) {
    await page.check(`input[name="item_${item}"][value="${value}"]`);
  }
  await page.fill('#taken-day', when.day);
  await page.fill('#taken-month', when.month);
  await page.fill('#taken-year', when.year);
  await page.check(`input[name="point"][value="${point}"]`);
  await submit(page, 'form[action$="/outcomes"] button[type=submit]');
}

test('an outcome measure taken twice shows its change since the baseline', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/outcomes`);
  assert.match(await page.textContent('table'), /ONS personal wellbeing \(ONS4\)/);
  assert.match(await page.textContent('#schedules ~ table'), /Social prescribing.*91 days in/s);
  await assertAccessible(page, 'outcome measures page');

  // A case of the link worker's with no measures yet.
  await page.goto(`${demo.base}/cases`);
  const hrefs = await page.$$eval('table tbody tr a[href^="/cases/"]', (as) => as.map((a) => a.getAttribute('href')));
  let caseUrl;
  for (const href of hrefs) {
    await page.goto(`${demo.base}${href}`);
    if ((await page.textContent('main')).includes('No outcome measures recorded yet.')) { caseUrl = page.url(); break; }
  }
  assert.ok(caseUrl, 'the link worker has a case with no outcome measures');
  assert.match(await page.textContent('#outcome-measures ~ .nhsuk-inset-text'), /ONS personal wellbeing \(ONS4\): the baseline is due now/);
  await page.selectOption('#instrument', 'ons4');
  await submit(page, 'form[action$="/outcomes/new"] button');
  assert.match(await page.textContent('h1'), /ONS personal wellbeing/);
  await assertAccessible(page, 'outcome measure form');

  // Two answers only: every missing answer is listed, the given ones stay chosen.
  await page.check('input[name="item_satisfied"][value="3"]');
  await page.check('input[name="item_anxious"][value="8"]');
  await submit(page, 'form[action$="/outcomes"] button[type=submit]');
  const summary = await page.textContent('.nhsuk-error-summary');
  assert.match(summary, /Answer question 2/);
  assert.match(summary, /Answer question 3/);
  assert.match(summary, /Select when in the support this measure was taken/);
  assert.equal(await page.isChecked('input[name="item_satisfied"][value="3"]'), true);
  await assertAccessible(page, 'outcome measure form with errors');

  await answerOns4(page, [3, 4, 4, 8], date(-90), 'baseline');
  assert.ok(page.url().startsWith(caseUrl.split('#')[0]), 'back on the case');
  await page.selectOption('#instrument', 'ons4');
  await submit(page, 'form[action$="/outcomes/new"] button');
  await answerOns4(page, [7, 6, 6, 3], date(0), 'follow_up');
  const table = page.locator('table', { has: page.locator('caption', { hasText: 'ONS personal wellbeing' }) });
  const text = await table.textContent();
  assert.match(text, /3 \(Low\)/);
  assert.match(text, /7 \(High\)/);
  assert.match(text, /Change since the baseline.*\+4\s*Improved/s);
  assert.match(text, /-5\s*Improved/);
  await assertAccessible(page, 'case with outcome measures');

  // A goal attainment record on a goal of the plan: a baseline rating, then a later one.
  await page.locator('summary', { hasText: 'Add a goal' }).click();
  await page.fill('#goal', 'Join the walking group');
  await submit(page, 'form[action$="/goals"] button');
  for (const [level, when] of [['-1', date(-60)], ['+1', date(0)]]) {
    await page.locator('summary', { hasText: 'Rate goal attainment' }).click();
    await page.selectOption('#gas_goal', { label: 'Join the walking group' });
    await page.check(`input[name="gas_level"][value="${level}"]`);
    await page.fill('#gas-day', when.day);
    await page.fill('#gas-month', when.month);
    await page.fill('#gas-year', when.year);
    await submit(page, 'form[action$="/attainment"] button');
  }
  const walking = page.locator('#plan ~ ul li', { hasText: 'Join the walking group' });
  assert.match(await walking.textContent(), /Goal attainment: -1 on .*, now \+1 \(somewhat more than expected \(\+1\)\)/);
  await assertAccessible(page, 'case with a goal attainment record');
  assert.deepEqual(errors, []);
  await context.close();

  const sup = await as('supervisor@demo.careweave');
  await sup.page.goto(`${demo.base}/casework/reports`);
  assert.match(await sup.page.textContent('main'), /Outcome measures: change since the baseline/);
  assert.match(await sup.page.textContent('main'), /Life satisfaction/);
  await assertAccessible(sup.page, 'casework reports with outcome change');
  assert.deepEqual(sup.errors, []);
  await sup.context.close();
});
