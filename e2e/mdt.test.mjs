// MDT meetings in a real browser, on the demo's social prescribing team (the charity's link worker
// and supervisor, the PCN's caseworker as partner): the demo's past meeting with its decisions and
// upcoming meeting built from the team's lists; planning a meeting (with the error summary), inviting
// someone from outside, building the agenda and adding a case by hand; recording the discussion, the
// decision, how the person was told and an action; the case page's list of meetings and its flags.
// A partner worker sees the meeting without the people outside their care; other roles are refused.
// Every distinct page on the way is scanned with axe-core.

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

/** Today as the server sees it (UTC), as the three boxes of a date input. */
function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86_400_000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

const as = (user) => openAs(browser, demo.base, user, demo.password);

async function fillDate(page, prefix, date) {
  await page.fill(`#${prefix}-day`, date.day);
  await page.fill(`#${prefix}-month`, date.month);
  await page.fill(`#${prefix}-year`, date.year);
}

/** Opens an NHS.UK details component from the keyboard (focus its summary, press Enter). */
async function openDetails(page, summaryText) {
  const summary = page.locator('summary.nhsuk-details__summary', { hasText: summaryText });
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), true, `"${summaryText}" opens from the keyboard`);
}

/** Follows the link of the demo's meeting in the table under `heading` ("upcoming" or "past"). */
async function openDemoMeeting(page, heading) {
  await page.goto(`${demo.base}/mdt`);
  await submit(page, `#${heading} + table a:has-text("Social prescribing MDT")`);
  assert.match(page.url(), /\/mdt\/\d+$/);
}

test('a worker sees the demo meetings, plans one, builds its agenda and records the outcome', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');

  // The navigation offers MDT meetings; the list shows the demo's upcoming and past meetings.
  await page.goto(`${demo.base}/`);
  assert.equal(await page.locator('header a[href="/menu/casework"]').count(), 1, 'the menu offers casework');
  await page.goto(`${demo.base}/menu/casework`);
  assert.equal(await page.locator('main a[href="/mdt"]').count(), 1, 'the casework menu offers MDT meetings');
  await page.goto(`${demo.base}/mdt`);
  assert.match(await page.textContent('#upcoming + table'), /Social prescribing MDT/);
  assert.match(await page.textContent('#past + table'), /Social prescribing MDT/);
  await assertAccessible(page, 'mdt list');

  // The upcoming meeting's agenda came from the team's lists, fed by the flags workers set.
  await openDemoMeeting(page, 'upcoming');
  const agenda = await page.textContent('main');
  assert.match(agenda, /Workers are worried about them/);
  assert.match(agenda, /Recently discharged from hospital/);
  assert.match(agenda, /Priya Shah/, 'an invited district nurse is listed');
  await assertAccessible(page, 'mdt upcoming meeting');

  // The past meeting records decisions and how each person was told.
  await openDemoMeeting(page, 'past');
  assert.match(await page.textContent('main'), /Decision: Joint visit with the housing association/);
  assert.match(await page.textContent('main'), /Riverside Housing Association/);
  await submit(page, 'ol a');
  assert.match(await page.inputValue('#decision'), /Joint visit/);
  assert.equal(await page.isChecked('#told_how-in_person'), true);
  assert.match(await page.textContent('main'), /Arrange the joint visit/);
  await assertAccessible(page, 'mdt past agenda case');

  // Planning: a form with a missing host and time comes back with the error summary and the
  // typed values, and the summary's links take the keyboard to the field.
  await page.goto(`${demo.base}/mdt`);
  await submit(page, 'a:has-text("Plan a meeting")');
  await assertAccessible(page, 'mdt plan form');
  await page.fill('#title', 'Extra MDT about winter');
  await page.fill('#location', 'Video call');
  await submit(page, 'button:has-text("Plan the meeting")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select the team or practice holding the meeting/);
  assert.equal(await page.inputValue('#title'), 'Extra MDT about winter');
  await assertAccessible(page, 'mdt plan form with errors');
  await page.locator('.nhsuk-error-summary a[href="#host"]').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'host');

  await page.getByLabel('Social prescribing team').check();
  await fillDate(page, 'held_on', today(3));
  await page.fill('#starts_at', '10:15');
  await page.getByLabel('Review due').check();
  await page.locator('label', { hasText: 'Casey Caseworker' }).click();
  await submit(page, 'button:has-text("Plan the meeting")');
  assert.match(page.url(), /\/mdt\/\d+$/);
  const meeting = page.url();
  assert.match(await page.textContent('main'), /Casey Caseworker/);

  // Someone from an outside organisation is invited by name and organisation.
  await openDetails(page, 'Invite someone');
  await page.fill('#invite_name', 'Jordan Reid');
  await page.fill('#invite_organisation', 'Age UK Riverside');
  await page.fill('#invite_role', 'Information and advice worker');
  await submit(page, 'button:has-text("Invite")');
  assert.match(await page.textContent('main'), /Jordan Reid/);

  // The agenda is built from the chosen list, then one more case is added by hand.
  await submit(page, 'button:has-text("Build the agenda from the lists")');
  assert.match(await page.textContent('.nhsuk-inset-text'), /added from the lists/);
  const listed = await page.$$eval('ol.nhsuk-list--number > li', (items) => items.length);
  assert.ok(listed > 0, 'cases with a review due are on the agenda');
  const candidates = await page.$$eval('#case option', (os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(candidates.length > 0, 'the worker\'s cases are offered');
  await page.selectOption('#case', candidates[candidates.length - 1]);
  await submit(page, 'button:has-text("Add to the agenda")');
  assert.match(await page.textContent('main'), /Added by hand/);
  await assertAccessible(page, 'mdt meeting with its agenda');

  // One case: a missing decision keeps what was typed; then the outcome, the telling and an action.
  await submit(page, 'ol a');
  const item = page.url();
  await assertAccessible(page, 'mdt agenda case');
  await page.fill('#discussion', 'Worried about heating costs this winter');
  await submit(page, 'button:has-text("Save the outcome")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter what the meeting decided/);
  assert.equal(await page.inputValue('#discussion'), 'Worried about heating costs this winter');
  await assertAccessible(page, 'mdt agenda case with errors');
  await page.fill('#decision', 'Apply for the warm home discount together');
  await page.getByLabel('By phone').check();
  await fillDate(page, 'told_on', today());
  await submit(page, 'button:has-text("Save the outcome")');
  assert.equal(page.url(), item);
  assert.equal(await page.isChecked('#told_how-phone'), true);
  await openDetails(page, 'Add an action');
  await page.fill('#action_text', 'Complete the warm home discount form');
  await page.fill('#action_owner', 'Lee Linkworker');
  await fillDate(page, 'action_due', today(14));
  await submit(page, 'button:has-text("Add the action")');
  await submit(page, 'button:has-text("Mark done")');
  assert.doesNotMatch(await page.textContent('main'), /Mark done/);

  // The case page lists the meetings it went to, and takes a flag for the next one.
  await submit(page, 'main p a:has-text("case")');
  const mdtSection = await page.locator('#mdt + ul').textContent();
  assert.match(mdtSection, /Extra MDT about winter/);
  assert.match(mdtSection, /Apply for the warm home discount together \(told by phone/);
  await openDetails(page, 'Flag for the next MDT');
  await page.fill('#flag_reason', 'Heating off when I visited');
  await submit(page, 'button:has-text("Add the flag")');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select what the flag is for/);
  assert.equal(await page.inputValue('#flag_reason'), 'Heating off when I visited');
  await assertAccessible(page, 'case page with an MDT flag error');
  await page.getByLabel('I am worried about this person').check();
  await fillDate(page, 'flag_on', today());
  await submit(page, 'button:has-text("Add the flag")');
  assert.match(await page.textContent('main'), /Heating off when I visited/);
  await assertAccessible(page, 'case page with MDT meetings and a flag');
  await submit(page, 'li:has-text("Heating off when I visited") button');
  assert.doesNotMatch(await page.textContent('main'), /Heating off when I visited/);

  await page.goto(meeting);
  assert.match(await page.textContent('main'), /Apply for the warm home discount together/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a partner worker sees the meeting without people outside their care; other roles are refused', async () => {
  const { context, page, errors } = await as('caseworker@demo.careweave');
  await openDemoMeeting(page, 'upcoming');
  const meeting = page.url();
  // The caseworker co-works one of the team's cases; the others are not in their care.
  const hidden = page.locator('ol.nhsuk-list--number > li', { hasText: 'A person not in your care' });
  assert.ok(await hidden.count() > 0, 'cases outside the viewer\'s care are listed without names');
  assert.equal(await hidden.locator('a').count(), 0, 'and without links');
  await assertAccessible(page, 'mdt meeting seen by a partner worker');
  assert.deepEqual(errors, []);
  await context.close();

  for (const user of ['analyst@demo.careweave', 'provider@demo.careweave', 'referrer@demo.careweave']) {
    const other = await as(user);
    const response = await other.page.goto(meeting);
    assert.equal(response.status(), 403, `${user} may not open the meeting`);
    assert.doesNotMatch(await other.page.textContent('main'), /Social prescribing MDT/);
    await assertAccessible(other.page, `mdt refused for ${user}`);
    await other.context.close();
  }
});
