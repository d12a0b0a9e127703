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
let seq = 0;
/// A name no other journey (of this run or an earlier one against the same server) uses.
export function unique(prefix) { seq += 1; return `${prefix}-${run}-${seq}`; }

/// Every journey starts from nothing of another's: its users, projects and runs are its own (fixtures below),
/// and its sessions close when it ends. It fails (with screenshots of every open session and their traces) when
/// a page errored, logged a console error or got a 5xx answer while it ran, and on any failure.
export const test = base.extend({
  guard: [async ({}, use, testInfo) => {
    await use();
    const seen = problems.splice(0);
    const failed = seen.length > 0 || testInfo.status !== testInfo.expectedStatus;
    for (const s of [...sessions.values()]) {
      if (failed) {
        const shot = await s.page.screenshot({ fullPage: true }).catch(() => null);
        if (shot) await testInfo.attach(`${s.who}.png`, { body: shot, contentType: 'image/png' });
        s.failed = true;
      }
      await closeSession(s.page);
    }
    if (seen.length) throw new Error(`page errors, console errors or 5xx answers:\n${seen.join('\n')}`);
  }, { auto: true }],
  /// `newUser('bob')`: a signed-up user of this journey, `{ name, page }`, the page signed in.
  newUser: async ({ browser }, use) => {
    await use(async (who, at = baseURL) => {
      const page = await session(browser, who);
      const name = unique(who);
      await signUpQuickly(page, name, at);
      return { name, page };
    });
  },
  alice: async ({ newUser }, use) => { await use(await newUser('alice')); },
  /// A project of alice's: `{ name, path }` (path = "alice-…/name").
  project: async ({ alice }, use) => {
    const name = unique('p');
    await createProject(alice.page, name);
    await use({ name, path: `${alice.name}/${name}` });
  },
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
  expectDataOnce(await resp.text(), path);
  return resp;
}

/// Each answer the server rendered a page from is written into it once: Leptos re-walks a `Suspense`'s children
/// on the server, and a resource created in that walk (not through `page_resource`) was fetched and written once
/// per walk. Two equal answers of some size mean one resource written twice.
export function expectDataOnce(html, path) {
  const seen = new Map();
  for (const [, id, value] of html.matchAll(/__RESOLVED_RESOURCES\[(\d+)\] = ("(?:[^"\\]|\\.)*")/g)) {
    if (value.length < 64) continue;
    expect(!seen.has(value), `${path}: resources ${seen.get(value)} and ${id} hold the same answer (${value.length} bytes): a resource made twice in one render`);
    seen.set(value, id);
  }
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

/// Signs up through the API from the page (its cookie is the session): for journeys that are not about sign-up.
export async function signUpQuickly(page, username, at = baseURL) {
  await open(page, '/login', at);
  const status = await page.evaluate(async ([username, password]) => (await fetch('/api/v1/auth/signup', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
  })).status, [username, password]);
  expect(status === 201 || status === 200, `sign-up of ${username} answered ${status}`);
}

/// Submits a run through the API from the page; returns its uuid.
export async function submitRun(page, projectPath, content) {
  const [status, body] = await page.evaluate(async ([p, content]) => {
    const r = await fetch(`/api/v1/projects/${p}/runs`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }),
    });
    return [r.status, await r.json()];
  }, [projectPath, content]);
  expect(status === 201, `submit answered ${status}: ${JSON.stringify(body)}`);
  return body.uuid;
}

/// Waits (through the API) until a run's status is one of `statuses`.
export async function waitForRun(page, projectPath, id, statuses, timeout = 30000) {
  const until = Date.now() + timeout;
  let last;
  while (Date.now() < until) {
    last = await page.evaluate(async u => (await (await fetch(u)).json()).status, `/api/v1/projects/${projectPath}/runs/${id}`);
    if (statuses.includes(last)) return last;
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`run ${id} is ${last}, never ${statuses.join(' or ')}`);
}

/// Stops a run through the API from the page.
export async function stopRun(page, projectPath, id) {
  const status = await page.evaluate(async u => (await fetch(u, { method: 'POST' })).status, `/api/v1/projects/${projectPath}/runs/${id}/stop`);
  expect(status < 300, `stop answered ${status}`);
}
