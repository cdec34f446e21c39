// Shared pieces of the browser tests: start the real careweave demo, drive Debian's Chromium with
// playwright-core, and scan pages with axe-core for WCAG 2.2 A and AA violations.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const resultsDir = path.join(root, 'test-results');
mkdirSync(resultsDir, { recursive: true });

/** The careweave binary under test: CAREWEAVE_BIN, or the debug build in the cargo target dir. */
function binary() {
  if (process.env.CAREWEAVE_BIN) return process.env.CAREWEAVE_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  return path.join(target, 'debug', 'careweave');
}

/**
 * Starts `careweave demo` on a free port with its own data directory and waits until it listens.
 * `clock`, an RFC 3339 instant, starts the server's clock there (`careweave demo --clock`) so a test
 * does not depend on the wall clock. Resolves to { base, password, stop }.
 */
export async function startDemo({ people = 3000, clock } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'careweave-e2e-'));
  const args = ['demo', '--port', '0', '--data-dir', dataDir, '--people', String(people)];
  if (clock) args.push('--clock', clock);
  const child = spawn(binary(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let output = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start in 180 s:\n${output}\n${stderr}`)), 180_000);
    child.stdout.on('data', (d) => {
      output += d;
      const port = output.match(/Listening on http:\/\/127\.0\.0\.1:(\d+)/);
      const password = output.match(/Password for every demo account: (\S+)/);
      if (port && password) {
        clearTimeout(timer);
        resolve({ base: `http://127.0.0.1:${port[1]}`, password: password[1] });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code}:\n${output}\n${stderr}`)); });
  });
  const { base, password } = await ready;
  child.removeAllListeners('exit');
  return {
    base,
    password,
    output,
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}

/** Launches Debian's Chromium headless, with the flags this closed network needs. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Signs in through the real form and checks the header names the user. */
export async function signIn(page, base, username, password) {
  await page.goto(`${base}/sign-in`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  const who = await page.textContent('[data-testid=signed-in-user]');
  if (!who) throw new Error(`sign-in as ${username} failed: ${await page.textContent('main')}`);
  return who;
}

/**
 * Opens a fresh browser context, signed in as `username` (anonymous when it is null), and collects
 * the page's script errors so that a test can assert there were none. Resolves to
 * { context, page, errors }.
 */
export async function openAs(browser, base, username, password) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (username) await signIn(page, base, username, password);
  return { context, page, errors };
}

/** Clicks `selector` and waits for the navigation it starts (a form post or a link). */
export async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/**
 * Runs axe-core on the current page for WCAG 2.0, 2.1 and 2.2 at levels A and AA and throws with
 * every violation listed, so a failure says exactly what to fix and where.
 */
export async function assertAccessible(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] },
  }));
  const name = label.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
  await page.screenshot({ path: path.join(resultsDir, `${name}.png`), fullPage: true });
  if (result.violations.length > 0) {
    const detail = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary}`).join('\n')).join('\n');
    throw new Error(`${label}: ${result.violations.length} accessibility violation(s)\n${detail}`);
  }
  return result.passes.length;
}

/** A phone's screen: the width every page must reflow to without scrolling sideways. */
export const PHONE = { width: 390, height: 844 };

/** Fails when the page is wider than the screen, i.e. it scrolls sideways (WCAG 1.4.10 reflow). */
export async function assertFitsTheScreen(page, label) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${label} scrolls sideways at ${client} px: ${scroll} px wide`);
}
