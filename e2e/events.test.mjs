// Significant events and the board report in a real browser. A link worker records a significant
// event from a case (the form keeps what was typed when a theme is missing) and escalates it; the
// supervisor finds it waiting, takes it to the board and opens the team and board report with raw
// counts; a commissioner sees the same report with small numbers hidden and downloads a table as
// CSV without a hidden value in it. Every distinct page on the way is scanned with axe-core.

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

/** Today as the server's clock sees it, as the three boxes of a date input. */
function today() {
  const d = new Date();
  return { day: String(d.getDate()), month: String(d.getMonth() + 1), year: String(d.getFullYear()) };
}

test('a worker records an escalated event from a case and the supervisor takes it to the board', async () => {
  const { context, page, errors } = await as('linkworker@demo.careweave');
  await page.goto(`${demo.base}/cases`);
  const href = await page.getAttribute('table tbody tr a[href^="/cases/"]', 'href');
  await page.goto(`${demo.base}${href}`);
  await submit(page, 'a[href^="/events/new?case="]');
  assert.match(await page.textContent('h1'), /Record a significant event or good news/);
  assert.match(await page.textContent('main'), /could identify the person/);
  await assertAccessible(page, 'record a significant event');
  await page.check('#kind');
  const t = today();
  await page.fill('#occurred-day', t.day);
  await page.fill('#occurred-month', t.month);
  await page.fill('#occurred-year', t.year);
  await page.fill('#description', 'Discharged from hospital with no package of care in place');
  await page.check('#escalate');
  await page.fill('#escalation_reason', 'Second unsafe discharge this month');
  await submit(page, 'form[action="/events/new"] button');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Select at least one theme/);
  assert.equal(await page.inputValue('#description'), 'Discharged from hospital with no package of care in place');
  await assertAccessible(page, 'record a significant event with an error');
  await page.check('#theme-service_failed');
  await submit(page, 'form[action="/events/new"] button');
  assert.match(page.url(), /\/events\/\d+$/);
  const eventUrl = page.url();
  assert.match(await page.textContent('main'), /A service that failed someone/);
  assert.match(await page.textContent('main'), /Not yet taken to the board/);
  await assertAccessible(page, 'a significant event');
  await page.goto(`${demo.base}/events`);
  await assertAccessible(page, 'significant events list');
  assert.deepEqual(errors, []);
  await context.close();

  const sup = await as('supervisor@demo.careweave');
  await sup.page.goto(`${demo.base}/events`);
  const waiting = sup.page.locator('table', { hasText: 'Escalations not yet taken to the board' });
  assert.ok(await waiting.locator(`a[href="${new URL(eventUrl).pathname}"]`).count(), 'the new escalation waits for the board');
  await assertAccessible(sup.page, 'significant events with escalations');
  await sup.page.goto(eventUrl);
  await sup.page.fill('#board-day', t.day);
  await sup.page.fill('#board-month', t.month);
  await sup.page.fill('#board-year', t.year);
  await submit(sup.page, `form[action$="/board"] button`);
  assert.match(await sup.page.textContent('main'), /Taken to the board on/);
  await sup.page.goto(`${demo.base}/casework/board`);
  assert.match(await sup.page.textContent('main'), /Exact figures for the services you supervise/);
  assert.match(await sup.page.textContent('#themes ~ .app-table-scroll table'), /A service that failed someone/);
  assert.doesNotMatch(await sup.page.textContent('main'), /no package of care/);
  await assertAccessible(sup.page, 'team and board report');
  assert.deepEqual(sup.errors, []);
  await sup.context.close();
});

test('a commissioner sees the board report with small numbers hidden, in the page and the CSV', async () => {
  const { context, page, errors } = await as('commissioner@demo.careweave');
  await page.goto(`${demo.base}/casework/board`);
  assert.match(await page.textContent('main'), /counts of 7 or fewer are not shown/);
  assert.match(await page.textContent('#themes ~ .app-table-scroll table'), /7 or fewer/);
  await assertAccessible(page, 'team and board report, disclosure controlled');
  const csv = await page.evaluate(async () => {
    const r = await fetch('/casework/board.csv?table=themes');
    return { type: r.headers.get('content-type'), body: await r.text() };
  });
  assert.match(csv.type, /^text\/csv/);
  const [header, ...rows] = csv.body.trim().split('\r\n');
  assert.equal(header, 'Month,Theme,Kind,Events');
  assert.ok(rows.length > 0);
  for (const row of rows) {
    const count = row.split(',').at(-1);
    assert.ok(count === 'suppressed' || Number(count) % 5 === 0, `no raw small count: ${row}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});
