import { test, expect, open, shot, signUp, logIn, session, closeSession, createProject, run, password, baseURL as base } from '../support.mjs';

test.describe.configure({ mode: 'serial' });

// Projects and their members: creation, search, roles, and privacy towards non-members.
const users = { alice: `alice-prj-${run}`, bob: `bob-prj-${run}`, carol: `carol-prj-${run}` };
const project = `vision-${run}`;
let alice, bob, carol;
test.beforeAll(async ({ browser }) => {
  [alice, bob, carol] = [await session(browser, 'alice'), await session(browser, 'bob'), await session(browser, 'carol')];
  await signUp(alice, users.alice);
});
test.afterAll(async () => { for (const s of [alice, bob, carol]) await closeSession(s); });

test("a bad project name is refused with a clear message", async () => {
  await open(alice, '/projects');
  await alice.click('#new-project summary');
  await alice.fill('#project-name', 'Bad Name!');
  await alice.evaluate(() => document.querySelector('#project-name').removeAttribute('required'));
  await alice.click('#create-project');
  await alice.waitForSelector('.form-error:has-text("project name")');
});

test("create a project and land on its page", async () => {
  await alice.fill('#project-name', project);
  await alice.fill('#project-description', 'Image models');
  await alice.click('#create-project');
  await alice.waitForURL(u => u.pathname === `/${users.alice}/${project}`, { timeout: 15000 });
  await alice.waitForSelector('#project-role:has-text("owner")');
  await shot(alice, '02-project');
});

test("the project is listed and found by search", async () => {
  await open(alice, `/projects?q=${encodeURIComponent('vision')}`);
  await alice.waitForSelector(`#projects >> text=${project}`);
});

test("two more users sign up", async () => {
  await signUp(bob, users.bob);
  await signUp(carol, users.carol);
});

test("the owner adds the second user as viewer", async () => {
  await open(alice, `/${users.alice}/${project}/settings`);
  await alice.fill('#member-username', users.bob);
  await alice.selectOption('#member-role', 'viewer');
  await alice.click('#add-member');
  await alice.waitForSelector(`#members tr[data-member="${users.bob}"]`);
  await shot(alice, '03-members');
});

test("the viewer sees the project, read-only", async () => {
  await open(bob, '/projects');
  await bob.waitForSelector(`#projects >> text=${project}`);
  await open(bob, `/${users.alice}/${project}`);
  await bob.waitForSelector('#project-role:has-text("viewer")');
  await bob.waitForSelector('#read-only');
  await open(bob, `/${users.alice}/${project}/settings`);
  await bob.waitForSelector('#read-only');
  expect(await bob.locator('fieldset[disabled]').count() === 1, 'general settings should be disabled for a viewer');
  expect(await bob.locator('#add-member').count() === 0, 'a viewer must not get the add-member form');
  expect(await bob.locator('#delete-project').count() === 0, 'a viewer must not get the delete form');
  await open(bob, `/${users.alice}/${project}/runs`);
  // This project has no runs (each area has its own): the listing's query form and its empty state.
  await bob.waitForSelector('#runs-query');
  await bob.waitForSelector('text=No runs yet');
  expect(await bob.locator('#new-run').count() === 0, 'a viewer must not get the new-run form');
  await shot(bob, '04-viewer-settings');
});

test("a non-member gets \"not found\" (404), not the project", async () => {
  const resp = await open(carol, `/${users.alice}/${project}`);
  expect(resp.status() === 404, `expected HTTP 404, got ${resp.status()}`);
  await carol.waitForSelector('text=Not found');
  expect(await carol.locator('#project-title').count() === 0, 'the project title leaked');
  await shot(carol, '05-not-found');
});
