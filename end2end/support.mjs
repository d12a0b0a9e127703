// What every browser journey shares: sessions in Debian's chromium that report page errors, console errors and
// 5xx answers (any of them fails the test that saw it), sign-up, opening a page and waiting for hydration,
// screenshots and traces of the sessions when a test fails.
import { test as base } from '@playwright/test';
import { mkdirSync } from 'node:fs';

export const baseURL = process.env.MYELIN_E2E_URL ?? 'http://127.0.0.1:8000';
export const k8sURL = process.env.MYELIN_E2E_K8S_URL;
export const password = 'correct horse battery';
export const artifacts = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });
/// A suffix that keeps this run's names apart from any other run against the same server.
export const run = Date.now().toString(36);

const problems = [];
/// Open sessions, by page.
const sessions = new Map();

/// Fails the test (with screenshots of every open session) when a page errored, logged a console error or got
/// a 5xx answer while it ran, and on any failure.
export const test = base.extend({
  guard: [async ({}, use, testInfo) => {
    await use();
    const seen = problems.splice(0);
    const failed = seen.length > 0 || testInfo.status !== testInfo.expectedStatus;
    if (failed) {
      testInfo.annotations.push({ type: 'failed', description: testInfo.title });
      for (const s of sessions.values()) {
        const shot = await s.page.screenshot({ fullPage: true }).catch(() => null);
        if (shot) await testInfo.attach(`${s.who}.png`, { body: shot, contentType: 'image/png' });
        s.failed = true;
      }
    }
    if (seen.length) throw new Error(`page errors, console errors or 5xx answers:\n${seen.join('\n')}`);
  }, { auto: true }],
});

/// Assertion with a message (the journeys check facts of the page, not snapshots).
export function expect(cond, msg) { if (!cond) throw new Error(msg); }

/// A browser session of its own (cookies, storage), traced; `closeSession` keeps the trace only if a test failed.
export async function session(browser, who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.tracing.start({ snapshots: true, screenshots: true });
  const page = await context.newPage();
  page.on('pageerror', e => problems.push(`${who}: page error at ${page.url()}: ${e.message}`));
  page.on('console', m => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`${who}: console: ${m.text()}`);
    }
  });
  page.on('response', r => { if (r.status() >= 500) problems.push(`${who}: HTTP ${r.status()} ${r.url()}`); });
  sessions.set(page, { who, page, context, failed: false });
  return page;
}

export async function closeSession(page) {
  const s = sessions.get(page);
  if (!s) return;
  sessions.delete(page);
  await s.context.tracing.stop(s.failed ? { path: `${artifacts}trace-${s.who}-${run}.zip` } : {});
  await s.context.close();
}

export async function open(page, path, at = baseURL) {
  const resp = await page.goto(at + path);
  await page.waitForSelector('body[data-hydrated]', { timeout: 15000 });
  return resp;
}

export async function shot(page, name) { await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true }); }

export async function signUp(page, username, at = baseURL) {
  await open(page, '/signup', at);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(u => u.pathname === '/projects', { timeout: 15000 });
  await page.waitForSelector(`#nav-user:has-text("${username}")`);
}

export async function logIn(page, username, at = baseURL) {
  await open(page, '/login', at);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(u => u.pathname !== '/login', { timeout: 15000 });
}

/// A project of the signed-in user, made through the API from the page (same origin, the session's cookie).
export async function createProject(page, name, description = '') {
  const status = await page.evaluate(async ([name, description]) => (await fetch('/api/v1/projects', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, description }),
  })).status, [name, description]);
  expect(status === 201, `project create answered ${status}`);
}

/// For the calling file: one user with a project of their own, made before its journeys and closed after them.
/// `area.page` is the user's session once the file's first journey runs.
export function withProject(tag) {
  const area = { user: `alice-${tag}-${run}`, project: `${tag}-${run}`, page: null };
  test.beforeAll(async ({ browser }) => {
    area.page = await session(browser, 'alice');
    await signUp(area.page, area.user);
    await createProject(area.page, area.project);
  });
  test.afterAll(async () => { await closeSession(area.page); });
  return area;
}
