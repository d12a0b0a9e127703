import { test, expect, open, shot, signUp, logIn, session, createProject, unique, password, baseURL as base } from '../support.mjs';

// Accounts: sign-up, tokens, log-out, the site admin's settings. Each journey has users of its own.
const admin = process.env.MYELIN_E2E_ADMIN;

/// The site admin, signed in, on the Account page (opened by URL, then reloaded: it must hydrate both ways).
async function adminOnAccount(browser) {
  const page = await session(browser, 'admin');
  await logIn(page, admin);
  await open(page, '/account');
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#site-settings');
  return page;
}

/// Opens or closes sign-up from the admin's Account page, and waits until the page shows it saved.
async function setSignup(page, state) {
  await open(page, '/account');
  await page.selectOption('#signup', state);
  await page.click('#site-settings button[type=submit]');
  await page.waitForFunction(s => document.querySelector('#signup').value === s, state);
}

test('anonymous visitors are sent to the login page', async ({ browser }) => {
  const carol = await session(browser, 'carol');
  await open(carol, '/projects');
  await carol.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
});
test("sign up lands on an empty projects page", async ({ browser }) => {
  const alice = await session(browser, 'alice');
  await signUp(alice, unique('alice'));
  await alice.waitForSelector('text=No projects yet');
  await shot(alice, '01-empty-projects');
});

test("an API token is created once and listed by prefix", async ({ alice: { page: alice } }) => {
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

test('a site admin closes sign-up; others do not get the setting', async ({ browser, alice: { page: alice } }) => {
  expect(admin, 'no site admin: the global setup signs one up');
  const adminPage = await adminOnAccount(browser);
  await setSignup(adminPage, 'closed');
  try {
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      await new Promise(r => setTimeout(r, 100));
      const r = await fetch(`${base}/api/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: unique('dave'), password }) });
      status = r.status;
    }
    expect(status === 403, `sign-up should be closed, got ${status}`);
    await open(alice, '/account');
    await alice.waitForSelector('h1:has-text("Account")');
    expect(await alice.locator('#site-settings').count() === 0, 'a non-admin must not see site settings');
  } finally {
    // Other journeys sign up their own users.
    await setSignup(adminPage, 'open');
  }
});

test('log out ends the session', async ({ alice: { page: alice }, project }) => {
  await open(alice, `/${project.path}`);
  await alice.waitForSelector('#project-role:has-text("owner")');
  await alice.click('#logout');
  await alice.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
  await open(alice, `/${project.path}`);
  await alice.waitForSelector('text=Not found');
});

test('while sign-up is closed, an invitation link lets one person in, once', async ({ browser }) => {
  const adminPage = await adminOnAccount(browser);
  await setSignup(adminPage, 'closed');
  try {
    await adminPage.fill('#invitation-note', 'for erin');
    await adminPage.click('#create-invitation');
    const link = (await (await adminPage.waitForSelector('#invitation-link code')).textContent()).trim();
    expect(link.startsWith(`${base}/signup?invitation=myelin_`), `the link is ${link}`);
    await adminPage.waitForSelector('#invitations tr[data-state="pending"]:has-text("for erin")');
    // The invitee opens the link in a browser of their own.
    const erin = await session(browser, 'erin');
    await erin.goto(link);
    await erin.waitForSelector('body[data-hydrated]');
    await erin.reload();
    await erin.waitForSelector('body[data-hydrated]');
    await erin.waitForSelector('#invited');
    await erin.fill('#username', unique('erin'));
    await erin.fill('#password', password);
    await erin.click('#submit');
    await erin.waitForURL(u => u.pathname === '/projects', { timeout: 15000 });
    // Used: a second person with the same link is refused, with the reason.
    const frank = await session(browser, 'frank');
    await frank.goto(link);
    await frank.waitForSelector('body[data-hydrated]');
    await frank.fill('#username', unique('frank'));
    await frank.fill('#password', password);
    await frank.click('#submit');
    await frank.waitForSelector('.form-error:has-text("used, revoked or has expired")');
    await open(adminPage, '/account');
    await adminPage.waitForSelector('#invitations tr[data-state="used"]:has-text("for erin")');
    await shot(adminPage, '07-invitations');
  } finally {
    await setSignup(adminPage, 'open');
  }
});

test('a site admin disables an account: its open session ends at once, and it can be enabled again', async ({ browser, newUser }) => {
  const { name, page: gina } = await newUser('gina');
  await open(gina, '/projects');
  await gina.waitForSelector(`#nav-user:has-text("${name}")`);
  const adminPage = await adminOnAccount(browser);
  await adminPage.click(`#users tr[data-user="${name}"] button`);
  await adminPage.waitForSelector(`#users tr[data-user="${name}"][data-disabled="true"]`);
  await open(gina, '/projects');
  await gina.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
  await adminPage.click(`#users tr[data-user="${name}"] button`);
  await adminPage.waitForSelector(`#users tr[data-user="${name}"][data-disabled="false"]`);
  await logIn(gina, name);
  await gina.waitForSelector(`#nav-user:has-text("${name}")`);
  // Both changes are in the audit log, with who made them.
  await open(adminPage, '/account');
  await adminPage.selectOption('#audit-action', 'user.disable');
  // The filtered page replaces the whole list: wait for it, not for a row the unfiltered list also has.
  await adminPage.waitForFunction(() => document.querySelectorAll('#audit tr[data-action]').length > 0 &&
    [...document.querySelectorAll('#audit tr[data-action]')].every(r => r.dataset.action === 'user.disable'));
  await adminPage.waitForSelector(`#audit tr[data-action="user.disable"]:has-text("${name}"):has-text("${admin}")`);
  expect(await adminPage.locator('#audit tr[data-action="user.enable"]').count() === 0, 'the filter shows one action');
});
