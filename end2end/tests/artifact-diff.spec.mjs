import { test, expect, open, submitRun, waitForRun } from '../support.mjs';

// The same file in two runs, side by side, on the compare page (`?runs=a,b&file=PATH`): reached from "Why
// different" (each artifact path links its comparison), opened from its link and reloaded; text as a numbered
// line diff, images next to each other, a path neither run has is said not to exist. (The guard fails the test
// on any page or console error.)

const JOB = `kind: component\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo done']}\n`;
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('the same artifact in two runs is compared side by side', async ({ alice, project }) => {
  const page = alice.page;
  const p = project.path;
  const a = await submitRun(page, p, JOB);
  const b = await submitRun(page, p, JOB);
  await waitForRun(page, p, a, ['succeeded']);
  await waitForRun(page, p, b, ['succeeded']);
  const put = (run, path, body) => page.evaluate(async ([u, body, b64]) => {
    const data = b64 ? Uint8Array.from(atob(body), c => c.charCodeAt(0)) : body;
    return (await fetch(u, { method: 'PUT', body: data })).status;
  }, [`/api/v1/projects/${p}/runs/${run}/artifacts/${path}`, body, path.endsWith('.png')]);
  const config = lr => `model: resnet\nlayers: 50\nlr: ${lr}\nepochs: 10\n`;
  for (const [run, path, body] of [[a, 'artifacts/config.yaml', config('0.1')], [b, 'artifacts/config.yaml', config('0.01')],
    [a, 'artifacts/plot.png', PNG], [b, 'artifacts/plot.png', PNG]]) {
    const status = await put(run, path, body);
    expect(status === 201, `upload of ${path} answered ${status}`);
  }

  // From the compare page: the differing file links its comparison; the identical one is not listed as different.
  await open(page, `/${p}/compare?runs=${a},${b}`);
  const link = page.locator('#why-table tr[data-key="artifacts/config.yaml"] a');
  await link.waitFor();
  expect(await page.locator('#why-table tr[data-key="artifacts/plot.png"]').count() === 0, 'equal files are not differences');
  await link.click();
  await page.waitForURL(u => u.pathname.endsWith('/compare') && u.searchParams.get('file') === 'artifacts/config.yaml');
  await page.waitForSelector('#diff-lines');
  const diffShown = async () => {
    expect((await page.textContent('#diff-verdict')).includes('differ'), 'the verdict says they differ');
    expect((await page.textContent('#diff-lines tr.removed')).includes('lr: 0.1'), 'the removed line');
    expect((await page.textContent('#diff-lines tr.added')).includes('lr: 0.01'), 'the added line');
    expect(await page.locator('#diff-lines tr.same').count() === 3, 'context lines');
  };
  await diffShown();
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await diffShown();

  // Images, opened from their link: both shown, the same digest said so.
  await open(page, `/${p}/compare?runs=${a},${b}&file=artifacts/plot.png`);
  await page.waitForSelector('#artifact-diff[data-kind="image"][data-same="true"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#diff-images img')].filter(i => i.complete && i.naturalWidth > 0).length === 2);
  expect((await page.textContent('#diff-verdict')).includes('same file'), 'the verdict says they are the same');
  // Each side opens its file's page.
  await page.click('#artifact-diff .side:first-child a[href*="/artifacts/"]');
  await page.waitForURL(u => u.pathname === `/${p}/artifacts/${a}/artifacts/plot.png`);
  await page.waitForSelector('#preview-image');

  // Neither run has it: said so; closing the comparison leaves the compare page as it was.
  await open(page, `/${p}/compare?runs=${a},${b}&file=artifacts/nothing.txt`);
  await page.waitForSelector('#artifact-diff-card .error-box:has-text("not found")');
  await page.click('#artifact-diff-close');
  await page.waitForURL(u => !u.searchParams.has('file'));
  expect(await page.locator('#artifact-diff-card').count() === 0, 'the comparison closes');
});
