import { test, expect, open, shot } from '../support.mjs';

// Projects and their members: creation, search, roles, and privacy towards non-members. Each journey has its
// own users and projects (support.mjs fixtures).

/// Adds a member through the API from the owner's page.
async function addMember(owner, projectPath, username, role) {
  const status = await owner.evaluate(async ([p, username, role]) => (await fetch(`/api/v1/projects/${p}/members`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, role }),
  })).status, [projectPath, username, role]);
  expect(status < 300, `adding ${username} answered ${status}`);
}

test("a bad project name is refused with a clear message", async ({ alice: { page: alice } }) => {
  await open(alice, '/projects');
  await alice.click('#new-project summary');
  await alice.fill('#project-name', 'Bad Name!');
  await alice.evaluate(() => document.querySelector('#project-name').removeAttribute('required'));
  await alice.click('#create-project');
  await alice.waitForSelector('.form-error:has-text("project name")');
});

test("create a project, land on its page, find it by search", async ({ alice: { page: alice, name: user } }) => {
  const project = `vision-${Date.now().toString(36)}`;
  await open(alice, '/projects');
  await alice.click('#new-project summary');
  await alice.fill('#project-name', project);
  await alice.fill('#project-description', 'Image models');
  await alice.click('#create-project');
  await alice.waitForURL(u => u.pathname === `/${user}/${project}`, { timeout: 15000 });
  await alice.waitForSelector('#project-role:has-text("owner")');
  await shot(alice, '02-project');
  await open(alice, `/projects?q=${encodeURIComponent('vision')}`);
  await alice.waitForSelector(`#projects >> text=${project}`);
});

test("the owner adds another user as viewer", async ({ alice: { page: alice }, project, newUser }) => {
  const bob = await newUser('bob');
  await open(alice, `/${project.path}/settings`);
  await alice.fill('#member-username', bob.name);
  await alice.selectOption('#member-role', 'viewer');
  await alice.click('#add-member');
  await alice.waitForSelector(`#members tr[data-member="${bob.name}"]`);
  await shot(alice, '03-members');
});

test("a viewer sees the project, read-only", async ({ alice: { page: alice }, project, newUser }) => {
  const { name, page: bob } = await newUser('bob');
  await addMember(alice, project.path, name, 'viewer');
  await open(bob, '/projects');
  await bob.waitForSelector(`#projects >> text=${project.name}`);
  await open(bob, `/${project.path}`);
  await bob.waitForSelector('#project-role:has-text("viewer")');
  await bob.waitForSelector('#read-only');
  await open(bob, `/${project.path}/settings`);
  await bob.waitForSelector('#read-only');
  expect(await bob.locator('fieldset[disabled]').count() === 2, 'general and registry settings should be disabled for a viewer');
  expect(await bob.locator('#add-member').count() === 0, 'a viewer must not get the add-member form');
  expect(await bob.locator('#delete-project').count() === 0, 'a viewer must not get the delete form');
  await open(bob, `/${project.path}/runs`);
  await bob.waitForSelector('#runs-query');
  await bob.waitForSelector('text=No runs yet');
  expect(await bob.locator('#new-run').count() === 0, 'a viewer must not get the new-run form');
  await shot(bob, '04-viewer-settings');
});

test("a non-member gets \"not found\" (404), not the project", async ({ project, newUser }) => {
  const { page: carol } = await newUser('carol');
  const resp = await open(carol, `/${project.path}`);
  expect(resp.status() === 404, `expected HTTP 404, got ${resp.status()}`);
  await carol.waitForSelector('text=Not found');
  expect(await carol.locator('#project-title').count() === 0, 'the project title leaked');
  await shot(carol, '05-not-found');
});
