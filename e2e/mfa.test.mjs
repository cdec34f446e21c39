// Multi-factor sign-in in a real browser. The demo admin requires it for their organisation on the
// sign-in security page; a caseworker of that organisation is then sent to set it up at their next
// sign-in before anything else (the setup key as text and as a QR code whose alt text carries it),
// confirms with a code from the "app" (RFC 6238 computed here), is shown ten recovery codes once,
// and from then on enters a code after their password: a wrong code comes back with the error
// summary, a right one signs in, and a recovery code works once. Every page is scanned with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
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

/** RFC 4648 base32 (spaces ignored) to bytes. */
function fromBase32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/\s+/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The six-digit TOTP code `stepsAhead` 30-second steps from now (RFC 6238, HMAC-SHA-1). */
function totp(key, stepsAhead = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + stepsAhead;
  const counter = Buffer.alloc(8);
  counter.writeBigInt64BE(BigInt(step));
  const digest = createHmac('sha1', fromBase32(key)).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

/** Types the username and password on the sign-in page and submits. */
async function password(page, username) {
  await page.goto(`${demo.base}/sign-in`);
  await page.fill('#username', username);
  await page.fill('#password', demo.password);
  await submit(page, 'form[action="/sign-in"] button[type=submit]');
}

test('an organisation requires multi-factor sign-in; a member enrols, then signs in with codes', async () => {
  const admin = await openAs(browser, demo.base, 'admin@demo.careweave', demo.password);
  await admin.page.goto(`${demo.base}/admin/security`);
  await assertAccessible(admin.page, 'mfa admin security');
  // The admin's one organisation: require it.
  await admin.page.check('input[name=required][value=yes]');
  await submit(admin.page, 'form[action="/admin/security"] button');
  assert.match(await admin.page.textContent('main'), /Setting saved/);
  await admin.context.close();

  const { context, page, errors } = await openAs(browser, demo.base, null, demo.password);
  await password(page, 'caseworker@demo.careweave');
  assert.match(page.url(), /\/account\/mfa\?next=/, 'sent to set it up first');
  // Nothing else is reachable before enrolling.
  await page.goto(`${demo.base}/people`);
  assert.match(page.url(), /\/account\/mfa$/);
  assert.match(await page.textContent('main'), /Your organisation requires/);
  const key = (await page.textContent('#secret')).trim();
  const alt = await page.getAttribute('main img', 'alt');
  assert.ok(alt.includes(key), 'the QR code image names the key for screen readers');
  await assertAccessible(page, 'mfa enrolment');

  await page.fill('#code', '000000');
  await submit(page, 'form[action="/account/mfa"] button');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter the 6-digit code/);
  await assertAccessible(page, 'mfa enrolment error');

  await page.fill('#code', totp(key));
  await submit(page, 'form[action="/account/mfa"] button');
  const codes = (await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent.trim())));
  assert.equal(codes.length, 10);
  await assertAccessible(page, 'mfa recovery codes');
  await submit(page, 'main a.nhsuk-button');
  assert.ok(await page.textContent('[data-testid=signed-in-user]'), 'signed in after enrolling');
  await submit(page, 'form[action="/sign-out"] button');

  // Next time: password, then a code.
  await password(page, 'caseworker@demo.careweave');
  assert.match(page.url(), /\/sign-in\/code/);
  await assertAccessible(page, 'mfa code');
  await page.fill('#code', '000000');
  await submit(page, 'form[action="/sign-in/code"] button');
  assert.match(await page.textContent('.nhsuk-error-summary'), /Enter a correct code/);
  await assertAccessible(page, 'mfa code error');
  await page.fill('#code', totp(key, 1));
  await submit(page, 'form[action="/sign-in/code"] button');
  assert.ok(await page.textContent('[data-testid=signed-in-user]'), 'signed in with a code');
  await submit(page, 'form[action="/sign-out"] button');

  // A recovery code instead of the phone, once.
  await password(page, 'caseworker@demo.careweave');
  await page.fill('#code', codes[0]);
  await submit(page, 'form[action="/sign-in/code"] button');
  assert.ok(await page.textContent('[data-testid=signed-in-user]'), 'signed in with a recovery code');
  assert.deepEqual(errors, []);
  await context.close();
});
