import { test, expect, open, submitRun, waitForRun } from '../support.mjs';

// `isApproved: false`: the run page, opened from its link and reloaded, says the run waits for approval and
// offers a member the button; approving starts it, and its timeline names who approved. A viewer sees the
// wait but no button. (The guard fails the test on any page or console error.)

const HELD = `kind: component\nisApproved: false\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo hi']}\n`;

test('a run held for approval starts once a member approves it from its page', async ({ alice, newUser, project }) => {
  const page = alice.page;
  const p = project.path;
  const id = await submitRun(page, p, HELD);
  await waitForRun(page, p, id, ['compiled']);
  const path = `/${p}/runs/${id}`;
  await open(page, path);
  await page.waitForSelector('#approval:has-text("Waiting for approval")');
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#approve-run');

  const vic = await newUser('vic');
  await page.evaluate(async ([p, who]) => {
    await fetch(`/api/v1/projects/${p}/members`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: who, role: 'viewer' }) });
  }, [p, vic.name]);
  await open(vic.page, path);
  await vic.page.waitForSelector('#approval');
  expect(await vic.page.locator('#approve-run').count() === 0, 'a viewer gets no approve button');

  await page.click('#approve-run');
  await waitForRun(page, p, id, ['succeeded']);
  await page.waitForSelector('#approval', { state: 'detached' });
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector(`text=approved by ${alice.name}`);
});
