// Casework in a real browser, for two services run by two employers: Focused Care (run by the PCN,
// worked by Casey Caseworker) and social prescribing (run by the charity, worked by Lee Linkworker,
// with the PCN as a partner on its list). A GP refers through the one referral form; the referral
// appears on the shared waiting list; a worker triages, allocates, assesses, plans with the person,
// records a contact, signposts through the directory, reviews and discharges, which produces the
// message back to the GP; reopening keeps the history. A self-referral from the public form is
// matched, redirected and declined with reasons. Workers outside the care team and analysts are
// refused. Every distinct page on the way is scanned with axe-core.

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

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];

/** Today as the server sees it (UTC), as the three boxes of a date input. */
function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86_400_000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

const as = (user) => openAs(browser, demo.base, user, demo.password);
const anonymous = () => openAs(browser, demo.base, null);

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

/** The value of the option of `select` whose label starts with `label`. */
async function optionValue(page, select, label) {
  const value = await page.$eval(select, (s, l) => [...s.options].find((o) => o.textContent.trim().startsWith(l))?.value, label);
  assert.ok(value, `${select} offers "${label}"`);
  return value;
}

/**
 * A person in the signed-in worker's care team with no casework yet, read from their people list
 * as a GP would know them: { id, name (FAMILY, Given), given, family, nhs, dob, practice }.
 */
async function personWithoutCasework(page) {
  await page.goto(`${demo.base}/people`);
  const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => {
    const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent.trim());
    return { href: tr.querySelector('a').getAttribute('href'), name: cells[0], nhs: cells[1], dob: cells[2], practice: cells[3] };
  }));
  for (const row of rows) {
    const text = await (await page.request.get(`${demo.base}${row.href}`)).text();
    if (!text.includes('No cases or waiting referrals.')) continue;
    const [family, given] = row.name.split(', ');
    const [day, month, year] = row.dob.split(' ');
    return {
      id: row.href.split('/').pop(),
      href: row.href,
      name: row.name,
      given,
      // The record shows the family name in capitals; a GP types it as written.
      family: family.charAt(0) + family.slice(1).toLowerCase(),
      nhs: row.nhs,
      dob: { day, month: String(MONTHS.indexOf(month) + 1), year },
      practice: row.practice,
    };
  }
  throw new Error('no one in the care team is free of casework');
}

/** An NHS number with its check digit changed, so that it fails modulus 11. */
function wrongCheckDigit(nhs) {
  const digits = nhs.replace(/\s/g, '');
  return `${digits.slice(0, 9)}${(Number(digits[9]) + 1) % 10}`;
}

/** Fills the professional referral form for `p`. */
async function fillReferral(page, p, { service, share, reason }) {
  await page.getByLabel(service, { exact: true }).check();
  await page.fill('#nhs_number', p.nhs);
  await page.fill('#given_name', p.given);
  await page.fill('#family_name', p.family);
  await fillDate(page, 'dob', p.dob);
  await page.selectOption('#practice', { label: p.practice });
  await page.fill('#contact', '07700 900 456 (synthetic)');
  await page.fill('#reason', reason);
  await page.fill('#needs', 'Rent arrears and a damp flat; close to a neighbour');
  await page.check('#need-housing');
  await page.check('#need-finances');
  await page.check('#consent');
  await page.check(share ? '#share_detail' : '#share_detail-no');
}

/** Finds `name`'s waiting referral for `service` on the waiting list and opens it. */
async function openFromWaitingList(page, name, service) {
  await page.goto(`${demo.base}/waiting-list`);
  const row = page.locator('tbody tr', { hasText: name }).filter({ hasText: service });
  assert.equal(await row.count(), 1, `${name} waits for ${service}`);
  await Promise.all([page.waitForNavigation(), row.locator('a').click()]);
  assert.match(await page.textContent('h1'), /^Referral for /);
}

/** Texts of the items of the case timeline. */
async function timeline(page) {
  return page.$$eval('#timeline + ul li', (lis) => lis.map((li) => li.textContent.trim()));
}

test('Focused Care: GP referral → waiting list → triage → allocation → assessment, plan, contact, review → discharge and GP message → reopen', async () => {
  const worker = await as('caseworker@demo.careweave');
  const { page } = worker;
  const person = await personWithoutCasework(page);

  // The GP refers. The first attempt has a mistyped NHS number and no consent ticked.
  const gp = await as('referrer@demo.careweave');
  await gp.page.goto(`${demo.base}/referrals/new`);
  assert.equal((await gp.page.textContent('h1')).trim(), 'Refer someone');
  await assertAccessible(gp.page, 'casework referral form');
  await fillReferral(gp.page, person, {
    service: 'Focused Care',
    share: true,
    reason: 'Facing eviction and struggling with the children since a bereavement',
  });
  await gp.page.fill('#nhs_number', wrongCheckDigit(person.nhs));
  await gp.page.uncheck('#consent');
  await submit(gp.page, 'form[action="/referrals/new"] button[type=submit]:not([name=lookup])');
  const summary = await gp.page.textContent('.nhsuk-error-summary');
  assert.match(summary, /check digit does not match/);
  assert.match(summary, /Confirm that the person agreed to be referred/);
  // Everything typed is kept.
  assert.equal(await gp.page.inputValue('#given_name'), person.given);
  assert.equal(await gp.page.inputValue('#dob-year'), person.dob.year);
  assert.match(await gp.page.inputValue('#reason'), /Facing eviction/);
  assert.equal(await gp.page.isChecked('#need-housing'), true);
  assert.equal(await gp.page.isChecked('#share_detail'), true);
  assert.equal(await gp.page.$eval('#practice', (s) => s.selectedOptions[0].textContent.trim()), person.practice);
  await assertAccessible(gp.page, 'casework referral form with errors');
  // The error summary's link takes the keyboard to the field.
  await gp.page.locator('.nhsuk-error-summary a[href="#nhs_number"]').focus();
  await gp.page.keyboard.press('Enter');
  assert.equal(await gp.page.evaluate(() => document.activeElement.id), 'nhs_number');
  await gp.page.fill('#nhs_number', person.nhs);
  await gp.page.check('#consent');
  await submit(gp.page, 'form[action="/referrals/new"] button[type=submit]:not([name=lookup])');
  assert.match(gp.page.url(), /\/referrals\/\d+\?sent=1$/);
  const referralUrl = gp.page.url().replace(/\?sent=1$/, '');
  assert.match(await gp.page.textContent('.nhsuk-card--confirmation'), /Referral sent/);
  assert.match(await gp.page.textContent('main'), /Waiting/);
  await assertAccessible(gp.page, 'casework referral sent');

  // The referral is on the shared waiting list; the caseworker triages and accepts it.
  await page.goto(`${demo.base}/casework`);
  await assertAccessible(page, 'casework hub');
  await page.goto(`${demo.base}/waiting-list`);
  await assertAccessible(page, 'casework waiting list');
  await openFromWaitingList(page, person.name, 'Focused Care');
  assert.match(await page.textContent('main'), /Eligibility advice:/);
  await assertAccessible(page, 'casework referral triage');
  await page.check('#outcome');
  await page.fill('#reason', 'Needs in housing and money; agrees to weekly visits');
  await page.selectOption('#lead', 'later');
  await page.selectOption('#intensity', 'high');
  await submit(page, 'form[action$="/triage"] button[type=submit]');
  assert.match(page.url(), /\/cases\/\d+$/);
  const caseUrl = page.url();
  const caseId = caseUrl.split('/').pop();
  assert.equal((await page.textContent('h1')).trim(), person.name);
  assert.match(await page.textContent('#team + p'), /No worker yet/);
  await assertAccessible(page, 'casework case awaiting a worker');

  // It waits for a worker on the list until someone is allocated.
  await page.goto(`${demo.base}/waiting-list`);
  assert.equal(await page.locator(`a[href="/cases/${caseId}#team"]`).count(), 1);
  await page.goto(caseUrl);
  await openDetails(page, 'Allocate a worker');
  await page.selectOption('#worker', await optionValue(page, '#worker', 'Casey Caseworker'));
  await page.selectOption('#role', 'lead');
  await submit(page, 'form[action$="/allocate"] button');
  assert.match(await page.textContent('#team + ul'), /Casey Caseworker, .*: lead worker since/);
  await page.goto(`${demo.base}/cases`);
  assert.match(await page.locator('tbody tr', { hasText: person.name }).textContent(), /Focused Care[\s\S]*Lead worker[\s\S]*Open, high intensity/);
  await assertAccessible(page, 'casework my cases');
  await page.goto(caseUrl);

  // Holistic assessment (baseline).
  await openDetails(page, 'Record the baseline assessment');
  await fillDate(page, 'assessed', today());
  await page.fill('#score_housing', '1');
  await page.fill('#score_finances', '2');
  await page.fill('#score_personal', '3');
  await page.fill('#strengths', 'A supportive sister; the children are settled at school');
  await submit(page, 'form[action$="/assessments"] button');
  const assessment = await page.textContent('#assessment + table');
  assert.match(assessment, /Housing/);
  assert.match(await page.textContent('main'), /A supportive sister/);

  // The personalised care and support plan: what matters, priorities, a goal and an action.
  await openDetails(page, 'Edit what matters, priorities and escalation');
  await page.fill('#what_matters', 'Keeping a roof over the children’s heads');
  await page.fill('#priorities', 'Stop the eviction\nClear the rent arrears\nGet the boiler fixed');
  await page.fill('#escalation', 'If the bailiffs are booked, call the duty housing officer the same day.');
  await submit(page, 'form[action$="/plan"] button');
  const plan = await page.textContent('#plan ~ dl');
  assert.match(plan, /Keeping a roof over the children’s heads/);
  assert.deepEqual(await page.$$eval('#plan ~ dl ol li', (lis) => lis.map((li) => li.textContent.trim())),
    ['Stop the eviction', 'Clear the rent arrears', 'Get the boiler fixed']);
  await openDetails(page, 'Add a goal');
  await page.fill('#goal', 'A secure tenancy by the spring');
  await submit(page, 'form[action$="/goals"] button');
  await openDetails(page, 'Add an action');
  await page.fill('#action_text', 'Apply for discretionary housing payment');
  await page.fill('#owner', 'Casey');
  await fillDate(page, 'due', today(14));
  await submit(page, 'form[action$="/actions"] button');
  const planText = await page.textContent('main');
  assert.match(planText, /A secure tenancy by the spring: 0% done/);
  assert.match(planText, /Apply for discretionary housing payment: Casey, due/);

  // A contact.
  await page.selectOption('#contact_type', 'home_visit');
  await fillDate(page, 'contact', today());
  await page.fill('#minutes', '50');
  await page.fill('#present', 'The person and her sister');
  await page.fill('#note', 'Went through the eviction notice together');
  await submit(page, 'form[action$="/contacts"] button');
  assert.match(await page.textContent('#contacts + ul'), /Home visit.*50 minutes, by Casey Caseworker/);
  await assertAccessible(page, 'casework case with plan and contact');

  // A review.
  await openDetails(page, 'Record a review');
  await fillDate(page, 'reviewed', today());
  await page.selectOption('#review_intensity', 'low');
  await page.fill('#review_summary', 'Eviction stopped; moving to low intensity');
  await submit(page, 'form[action$="/reviews"] button');
  assert.match(await page.textContent('main'), /by Casey Caseworker \(low intensity\): Eviction stopped/);

  // Discharge without a reason: the error summary, and what was typed is kept.
  await page.selectOption('#destination', 'gp_care');
  await page.selectOption('#gp_agreement', 'agreed');
  await fillDate(page, 'discharged', today());
  await page.fill('#outcomes', 'Tenancy secure; arrears in a repayment plan');
  const refused = await Promise.all([page.waitForNavigation(), page.click('form[action$="/discharge"] button')]);
  assert.equal(refused[0].status(), 422);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select the reason for discharge/);
  assert.equal(await page.inputValue('#destination'), 'gp_care');
  assert.equal(await page.inputValue('#discharged-day'), today().day);
  assert.equal(await page.inputValue('#outcomes'), 'Tenancy secure; arrears in a repayment plan');
  await assertAccessible(page, 'casework discharge with errors');
  await page.selectOption('#discharge_reason', 'goals_met');
  // "Goals met" with the one goal at 0%: a warning to confirm with a reason (issue 16), not a block.
  const warned = await Promise.all([page.waitForNavigation(), page.click('form[action$="/discharge"] button')]);
  assert.equal(warned[0].status(), 422);
  assert.match(await page.textContent('.nhsuk-error-summary'), /Goals met.*0% progress/);
  assert.equal(await page.inputValue('#discharge_reason'), 'goals_met');
  await assertAccessible(page, 'casework discharge warning');
  await page.fill('#discharge_override', 'The tenancy is secure; the goal was not updated before discharge');
  await submit(page, 'form[action$="/discharge"] button');
  assert.match(await page.textContent('.nhsuk-summary-list'), /Discharged/);
  assert.match(await page.textContent('#discharge-override'), /The tenancy is secure/);
  assert.match(await page.textContent('#discharge + p'), /Reason: Goals met\. Next: Back to usual GP care\. The GP agreed\./);
  await assertAccessible(page, 'casework case discharged');
  const before = await timeline(page);

  // The message back to the GP, as it was written and sent at discharge: detail, because the
  // person agreed to share it; a Focused Care discharge carries "Patient discharge".
  await submit(page, `a[href="/cases/${caseId}/gp-message"]`);
  const message = await page.textContent('main');
  assert.match(message, /Focused Care/);
  assert.match(message, /SNOMED CT 58000006: Patient discharge/);
  assert.match(message, /Completed by/);
  assert.match(message, /Keeping a roof over the children’s heads/);
  assert.match(message, /Facing eviction/);
  assert.match(message, /Lead worker: Casey Caseworker/);
  assert.match(message, /Support from .*: 1 contact \(home visit 1\)\./);
  assert.match(message, /Reason: Goals met\. Next: Back to usual GP care\. The GP agreed\./);
  assert.match(message, /Tenancy secure; arrears in a repayment plan/);
  await assertAccessible(page, 'casework GP message');
  const json = await page.request.get(`${demo.base}/cases/${caseId}/gp-message.json`);
  assert.equal(json.status(), 200);
  assert.match(json.headers()['content-disposition'], new RegExp(`attachment; filename="gp-message-case-${caseId}.json"`));
  const m = await json.json();
  assert.equal(m.person_demographics.nhs_number, person.nhs.replace(/\s/g, ''));
  assert.equal(m.referral_details.service_type, 'Focused Care');
  assert.equal(m.referral_details.referrer, 'Dr Rae Referrer');
  assert.equal(m.consent.share_detail_with_gp, true);
  assert.deepEqual(m.coded_entries.map((c) => c.code), ['58000006']);
  assert.equal(m.what_matters_to_me, 'Keeping a roof over the children’s heads');
  assert.equal(m.support_offered.lead_worker, 'Casey Caseworker');
  assert.equal(m.support_offered.total_contacts, 1);
  assert.deepEqual(m.outcomes.goals, [{ goal: 'A secure tenancy by the spring', progress_percent: 0 }]);
  assert.deepEqual(m.discharge && [m.discharge.reason, m.discharge.destination, m.discharge.gp_agreement],
    ['Goals met', 'Back to usual GP care', 'The GP agreed']);

  // The GP who referred follows the outcome on their referral page: the decision and the state
  // of the support, without a way into the case or the record (issue 12: a referral grants no
  // record; the message reaches the practice's own system).
  await gp.page.goto(referralUrl);
  assert.match(await gp.page.textContent('main'), /Accepted: Needs in housing and money/);
  assert.match(await gp.page.textContent('[data-testid=case-status]'), /Discharged/);
  assert.equal(await gp.page.locator(`a[href="/cases/${caseId}"]`).count(), 0);
  assert.equal(await gp.page.locator('a[href^="/people/"]').count(), 0);
  assert.equal(await gp.page.locator('form[action$="/triage"]').count(), 0);
  await assertAccessible(gp.page, 'casework referral outcome for the referrer');
  for (const path of [caseUrl, `${demo.base}/cases/${caseId}/gp-message`]) {
    const refused = await gp.page.request.get(path);
    assert.equal(refused.status(), 403, `the referrer may not open ${path}`);
  }
  assert.deepEqual(gp.errors, []);
  await gp.context.close();

  // Reopening keeps the history.
  await page.goto(caseUrl);
  await page.fill('#reopen_reason', 'A new notice from the landlord');
  await submit(page, 'form[action$="/reopen"] button');
  assert.match(await page.textContent('.nhsuk-summary-list'), /Reopened.*re-entered 1 time/);
  const after = await timeline(page);
  assert.match(after[0], /Reopened: A new notice from the landlord/);
  for (const entry of before) assert.ok(after.includes(entry), `the timeline keeps "${entry}"`);
  assert.match(await page.textContent('#contacts + ul'), /Went through the eviction notice together/);
  assert.match(await page.textContent('#plan ~ dl'), /Keeping a roof over the children’s heads/);
  await assertAccessible(page, 'casework case reopened');
  assert.deepEqual(worker.errors, []);
  await worker.context.close();

  // Need to know: a worker of the other employer, a worker outside both services and an analyst
  // are all refused the case and its message.
  for (const user of ['linkworker@demo.careweave', 'provider@demo.careweave', 'analyst@demo.careweave']) {
    const other = await as(user);
    const response = await other.page.goto(caseUrl);
    assert.equal(response.status(), 403, `${user} may not open the case`);
    assert.doesNotMatch(await other.page.textContent('main'), new RegExp(person.given));
    if (user === 'analyst@demo.careweave') await assertAccessible(other.page, 'casework case refused');
    const message403 = await other.page.request.get(`${demo.base}/cases/${caseId}/gp-message.json`);
    assert.equal(message403.status(), 403, `${user} may not read the GP message`);
    await other.context.close();
  }
});

test('social prescribing: referral without consent to share → triage with a lead → signpost via the directory → discharge sends codes only', async () => {
  const worker = await as('linkworker@demo.careweave');
  const { page } = worker;
  const person = await personWithoutCasework(page);

  const gp = await as('referrer@demo.careweave');
  await gp.page.goto(`${demo.base}/referrals/new`);
  await fillReferral(gp.page, person, {
    service: 'Social prescribing',
    share: false,
    reason: 'Lonely since a bereavement, visits the surgery weekly',
  });
  await submit(gp.page, 'form[action="/referrals/new"] button[type=submit]:not([name=lookup])');
  assert.match(gp.page.url(), /\/referrals\/\d+\?sent=1$/);
  assert.match(await gp.page.textContent('main'), /Codes and dates only/);
  await gp.context.close();

  // The waiting list is shared across employers: the PCN's caseworker sees the charity's referral
  // too, because the PCN is a partner on the social prescribing list.
  const pcn = await as('caseworker@demo.careweave');
  await pcn.page.goto(`${demo.base}/waiting-list`);
  assert.equal(await pcn.page.locator('tbody tr', { hasText: person.name }).filter({ hasText: 'Social prescribing' }).count(), 1);
  await pcn.context.close();

  // The link worker filters the list to the service, then accepts with a named lead at triage.
  await page.goto(`${demo.base}/waiting-list`);
  await page.selectOption('#service', { label: 'Social prescribing' });
  await submit(page, 'form[action="/waiting-list"] button');
  const services = await page.$$eval('tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent.replace('Service', '').trim()));
  assert.ok(services.length > 0 && services.every((s) => s === 'Social prescribing'), services.join());
  await assertAccessible(page, 'casework waiting list filtered');
  await openFromWaitingList(page, person.name, 'Social prescribing');
  await page.check('#outcome');
  await page.fill('#reason', 'Wants to meet people; a good fit for the walking group');
  await page.selectOption('#lead', await optionValue(page, '#lead', 'Lee Linkworker'));
  await page.selectOption('#intensity', 'low');
  await submit(page, 'form[action$="/triage"] button[type=submit]');
  assert.match(page.url(), /\/cases\/\d+$/);
  const caseUrl = page.url();
  const caseId = caseUrl.split('/').pop();
  assert.match(await page.textContent('#team + ul'), /Lee Linkworker, .*: lead worker/);
  assert.match(await page.textContent('.nhsuk-summary-list'), /Codes and dates only/);

  await openDetails(page, 'Record the baseline assessment');
  await fillDate(page, 'assessed', today());
  await page.fill('#score_social', '1');
  await page.fill('#score_mental_health', '2');
  await submit(page, 'form[action$="/assessments"] button');
  await openDetails(page, 'Edit what matters, priorities and escalation');
  await page.fill('#what_matters', 'Having someone to talk to about my garden');
  await page.fill('#priorities', 'Get out of the house\nMeet people');
  await submit(page, 'form[action$="/plan"] button');
  await openDetails(page, 'Add a goal');
  await page.fill('#goal', 'Go to a befriending group twice');
  await submit(page, 'form[action$="/goals"] button');
  await page.selectOption('#contact_type', 'phone');
  await fillDate(page, 'contact', today());
  await page.fill('#minutes', '20');
  await submit(page, 'form[action$="/contacts"] button');
  assert.match(await page.textContent('#contacts + ul'), /Phone call.*20 minutes, by Lee Linkworker/);
  await openDetails(page, 'Plan a visit');
  await page.selectOption('#visit_type', 'drop_in');
  await fillDate(page, 'visit', today());
  await page.fill('#visit_start', '10:00');
  await page.fill('#visit_back', '11:00');
  await page.fill('#visit_place', 'Central Library');
  await page.fill('#visit_note', 'Meet at the library drop-in');
  await submit(page, 'form[action$="/visits"] button');
  await page.goto(`${demo.base}/my-day`);
  assert.match(await page.locator('li', { has: page.locator(`a[href="/cases/${caseId}"]`) }).textContent(),
    /Drop-in, 10:00 to 11:00 at Central Library \(Meet at the library drop-in\)/);
  await assertAccessible(page, 'casework my day');
  await page.goto(caseUrl);

  // Onward: from the case to the directory, signpost to a befriending service.
  await submit(page, `a[href="/directory?person=${person.id}"]`);
  assert.match(await page.textContent('.nhsuk-lede-text'), /Finding a service for/);
  await assertAccessible(page, 'casework directory search for the person');
  // Opened from a person, the search has already run for their postcode, so the form is folded
  // away behind "Change the search": open it.
  const folded = page.locator('[data-testid=search-form-folded] summary');
  if (await folded.count()) await folded.click();
  await page.selectOption('#need', 'befriending');
  await page.fill('#q', 'Hillside Befriending');
  await page.fill('#postcode', '');
  await submit(page, 'form[action="/directory"] button[type=submit]');
  await assertAccessible(page, 'casework directory results');
  await submit(page, 'a[href^="/directory/services/hillside-befriending"]');
  await assertAccessible(page, 'casework directory service');
  await page.fill('#signpost-note', 'Told her about the Thursday group');
  await submit(page, 'form[action$="/signpost"] button');
  assert.match(await page.textContent('main'), /What it is/);
  await assertAccessible(page, 'casework directory signpost summary');
  await page.goto(caseUrl);
  await submit(page, 'a[href$="/directory"]:has-text("Signposts and referrals made so far")');
  assert.match(await page.textContent('main'), /Hillside Befriending Service/);
  await assertAccessible(page, 'casework person signposts');
  await page.goto(caseUrl);

  await openDetails(page, 'Record a review');
  await fillDate(page, 'reviewed', today());
  await page.selectOption('#review_intensity', 'low');
  await page.fill('#review_summary', 'Has been to the group once');
  await submit(page, 'form[action$="/reviews"] button');

  // A safeguarding concern from the case: a future date and no description are refused with what
  // was typed kept; the concern page is then seen by the worker who raised it.
  await openDetails(page, 'Raise a safeguarding concern');
  await page.selectOption('#sg_category', 'adult_financial');
  await page.check('#sg_risk-medium');
  await fillDate(page, 'sg_noticed', today(400));
  await submit(page, 'form[action$="/safeguarding"] button');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Describe what you saw or heard/);
  assert.match(await page.textContent('.nhsuk-error-summary'), /must be in the past/);
  assert.equal(await page.inputValue('#sg_category'), 'adult_financial');
  await assertAccessible(page, 'safeguarding concern with errors');
  await fillDate(page, 'sg_noticed', today());
  await page.fill('#sg_description', 'Says a neighbour keeps her bank card');
  await submit(page, 'form[action$="/safeguarding"] button');
  assert.match(page.url(), /\/safeguarding\/\d+$/);
  assert.match(await page.textContent('main'), /Adult: financial or material abuse/);
  await assertAccessible(page, 'safeguarding concern');
  await page.goto(caseUrl);
  assert.match(await page.textContent('.nhsuk-summary-list'), /1 open concern/);

  // She chose to stop part-way (a goal agreed): the GP is told the dates and the referral code,
  // nothing more, and not "declined", which means the offer itself was declined.
  await page.selectOption('#discharge_reason', 'declined');
  await page.selectOption('#destination', 'community_group');
  await page.selectOption('#gp_agreement', 'not_asked');
  await fillDate(page, 'discharged', today());
  await page.fill('#outcomes', 'Private words the GP must not see');
  await submit(page, 'form[action$="/discharge"] button');
  // The service's schedule asks for ONS4 at discharge: confirmed with a reason.
  assert.match(await page.textContent('.nhsuk-error-summary'), /at discharge and it has not been recorded/);
  await page.fill('#discharge_override', 'She did not want to answer the questions again');
  await submit(page, 'form[action$="/discharge"] button');
  assert.match(await page.textContent('.nhsuk-summary-list'), /Discharged/);
  await page.goto(`${demo.base}/cases/${caseId}/gp-message`);
  const message = await page.textContent('main');
  assert.match(message, /did not agree to share details/);
  assert.match(message, /871731000000106/);
  assert.ok(!message.includes('871711000000103'));
  for (const secret of ['Having someone to talk to', 'Lonely since a bereavement', 'Private words', 'Go to a befriending group', 'Rent arrears']) {
    assert.ok(!message.includes(secret), `the message leaves out "${secret}"`);
  }
  await assertAccessible(page, 'casework GP message codes only');
  const m = await (await page.request.get(`${demo.base}/cases/${caseId}/gp-message.json`)).json();
  assert.equal(m.consent.share_detail_with_gp, false);
  assert.deepEqual(m.coded_entries.map((c) => [c.system, c.code]), [
    ['http://snomed.info/sct', '871731000000106'],
  ]);
  assert.equal(m.referral_details.service_type, 'Social prescribing');
  assert.equal(m.what_matters_to_me, null);
  assert.equal(m.referral_details.reason_for_referral, null);
  assert.equal(m.needs_and_concerns, null);
  assert.deepEqual(m.outcomes, { life_domains: [], goals: [] });
  assert.equal(m.discharge.reason, 'Person chose to stop');
  assert.equal(m.discharge.summary, null);
  assert.equal(m.support_offered.total_contacts, 1);
  assert.ok(!JSON.stringify(m).includes('Private words'));
  assert.deepEqual(worker.errors, []);
  await worker.context.close();
});

test('public self-referral without an account → matched at triage → redirected, then declined, with reasons', async () => {
  const worker = await as('linkworker@demo.careweave');
  const person = await personWithoutCasework(worker.page);

  // The public form: no account, no NHS number.
  const visitor = await anonymous();
  const { page } = visitor;
  await page.goto(`${demo.base}/refer`);
  assert.equal((await page.textContent('h1')).trim(), 'Ask for support');
  assert.equal(await page.locator('[data-testid=signed-in-user]').count(), 0);
  await assertAccessible(page, 'casework public form');
  await page.getByLabel('Social prescribing', { exact: true }).check();
  await page.fill('#given_name', person.given);
  await page.fill('#family_name', person.family);
  await fillDate(page, 'dob', { ...person.dob, day: '31', month: '2' });
  await page.fill('#contact', '07700 900 789 (synthetic)');
  await page.fill('#reason', 'I would like to get out more and meet people');
  await submit(page, 'form[action="/refer"] button[type=submit]');
  const summary = await page.textContent('.nhsuk-error-summary');
  // The public form speaks to the person themself (issue 16, item 10).
  assert.match(summary, /Your date of birth must be a real date/);
  assert.match(summary, /Confirm that you agree to this referral/);
  assert.match(summary, /Select whether we can share details of your support with your GP/);
  assert.doesNotMatch(summary, /the person|their GP/);
  assert.equal(await page.inputValue('#family_name'), person.family);
  assert.equal(await page.inputValue('#dob-day'), '31');
  assert.equal(await page.inputValue('#reason'), 'I would like to get out more and meet people');
  assert.equal(await page.isChecked('input[name=service]:checked'), true);
  await assertAccessible(page, 'casework public form with errors');
  // Keyboard: the consent box ticks with the space bar.
  await fillDate(page, 'dob', person.dob);
  await page.focus('#consent');
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked('#consent'), true);
  await page.check('#share_detail');
  await submit(page, 'form[action="/refer"] button[type=submit]');
  assert.equal((await page.textContent('h1')).trim(), 'Your request has been sent');
  assert.match(await page.textContent('main'), /Social prescribing/);
  await assertAccessible(page, 'casework public request sent');
  assert.deepEqual(visitor.errors, []);
  await visitor.context.close();

  // The link worker matches it to the registered person, then redirects it to Focused Care.
  const w = worker.page;
  await w.goto(`${demo.base}/waiting-list`);
  const row = w.locator('tbody tr', { hasText: person.name }).filter({ hasText: 'Social prescribing' });
  assert.match(await row.textContent(), /Not matched/);
  assert.match(await row.textContent(), /The person themselves/);
  await openFromWaitingList(w, person.name, 'Social prescribing');
  assert.match(await w.textContent('main'), /Who is this\?/);
  await assertAccessible(w, 'casework referral to match');
  const candidate = w.locator('input[name=person]').first();
  assert.equal(await candidate.getAttribute('value'), person.id);
  await candidate.check();
  await submit(w, 'form[action$="/link"] button');
  assert.match(await w.textContent('h2:has-text("Triage")'), /Triage/);
  // A decision without a reason is refused with the error summary.
  await w.check('#outcome-decline');
  await submit(w, 'form[action$="/triage"] button[type=submit]');
  assert.match(await w.textContent('.nhsuk-error-summary'), /Enter the reason for your decision/);
  assert.equal(await w.isChecked('#outcome-decline'), true);
  await assertAccessible(w, 'casework triage with errors');
  await w.check('#outcome-redirect');
  await w.selectOption('#redirect_to', { label: 'Focused Care' });
  await w.fill('#reason', 'Needs help with housing first: Focused Care is better placed');
  const referralUrl = w.url().replace(/\/triage$/, '');
  await submit(w, 'form[action$="/triage"] button[type=submit]');
  // Back to the list, which confirms the decision; the referral no longer waits with the charity.
  assert.match(w.url(), /\/waiting-list\?decided=redirected$/);
  assert.match(await w.textContent('.nhsuk-card--confirmation'), /Referral redirected/);
  assert.equal(await w.locator('tbody tr', { hasText: person.name }).filter({ hasText: 'Social prescribing' }).count(), 0);
  await assertAccessible(w, 'casework waiting list after a decision');
  // The link worker is in the person's care team, so still reads the referral and its outcome.
  await w.goto(referralUrl);
  assert.match(await w.textContent('.nhsuk-summary-list'), /Redirected: Needs help with housing first/);
  assert.equal(await w.locator('form[action$="/triage"]').count(), 0);
  assert.deepEqual(worker.errors, []);
  await worker.context.close();

  // The redirected referral waits on Focused Care's list; the caseworker declines it with a reason.
  const pcn = await as('caseworker@demo.careweave');
  await openFromWaitingList(pcn.page, person.name, 'Focused Care');
  await pcn.page.check('#outcome-decline');
  await pcn.page.fill('#reason', 'Only one need; social prescribing can help with the rest');
  await submit(pcn.page, 'form[action$="/triage"] button[type=submit]');
  assert.match(pcn.page.url(), /\/waiting-list\?decided=declined$/);
  assert.match(await pcn.page.textContent('.nhsuk-card--confirmation'), /Referral declined/);
  assert.equal(await pcn.page.locator('tbody tr', { hasText: person.name }).count(), 0);
  assert.deepEqual(pcn.errors, []);
  await pcn.context.close();
});
