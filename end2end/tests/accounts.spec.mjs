import { test, expect, open, shot, signUp, logIn, session, closeSession, createProject, run, password, baseURL as base } from '../support.mjs';

test.describe.configure({ mode: 'serial' });

// Accounts: sign-up, tokens, log-out, the site admin's settings. Fresh users of their own.
const users = { alice: `alice-acc-${run}`, admin: process.env.MYELIN_E2E_ADMIN };
const project = `acc-${run}`;
let alice, carol, admin;
test.beforeAll(async ({ browser }) => {
  [alice, carol, admin] = [await session(browser, 'alice'), await session(browser, 'carol'), await session(browser, 'admin')];
});
test.afterAll(async () => { for (const s of [alice, carol, admin]) await closeSession(s); });

test('anonymous visitors are sent to the login page', async () => {
  await open(carol, '/projects');
  await carol.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
});
test("sign up lands on an empty projects page", async () => {
  await signUp(alice, users.alice);
  await alice.waitForSelector('text=No projects yet');
  await shot(alice, '01-empty-projects');
});

test("an API token is created once and listed by prefix", async () => {
  await open(alice, '/account');
  await alice.fill('#token-name', 'laptop');
  await alice.click('#create-token');
  const token = (await alice.textContent('#new-token code')).trim();
  expect(token.startsWith('myelin_'), `token looks wrong: ${token}`);
  await alice.waitForSelector('#tokens >> text=laptop');
  const r = await fetch(`${base}/api/v1/user`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status === 200, `token rejected: ${r.status}`);
  await shot(alice, '06-tokens');
});

test('a site admin closes sign-up; others do not get the setting', async () => {
  expect(users.admin, 'no site admin: the global setup signs one up');
  await logIn(admin, users.admin);
  await open(admin, '/account');
  await admin.selectOption('#signup', 'closed');
  await admin.click('#site-settings button[type=submit]');
  try {
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      await new Promise(r => setTimeout(r, 100));
      const r = await fetch(`${base}/api/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `dave-${run}`, password }) });
      status = r.status;
    }
    expect(status === 403, `sign-up should be closed, got ${status}`);
    await open(alice, '/account');
    await alice.waitForSelector('h1:has-text("Account")');
    expect(await alice.locator('#site-settings').count() === 0, 'a non-admin must not see site settings');
  } finally {
    // Other journeys sign up their own users.
    await open(admin, '/account');
    await admin.selectOption('#signup', 'open');
    await admin.click('#site-settings button[type=submit]');
    await admin.waitForFunction(() => document.querySelector('#signup').value === 'open');
  }
});

test('log out ends the session', async () => {
  await createProject(alice, project);
  await alice.click('#logout');
  await alice.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
  await open(alice, `/${users.alice}/${project}`);
  await alice.waitForSelector('text=Not found');
});
