import { test, expect, open, submitRun, waitForRun } from '../support.mjs';

// A file's lineage, opened from its link and reloaded: one run stores `train.csv`, another copies it in through
// an init step naming the first run's uuid; the file's page draws its producer above the run that consumed it,
// and the consumer's run page lists the file (by digest, from the producer) and the file its spec wrote.
// (The guard fails the test on any page or console error.)

const PRODUCER = `kind: component\nname: make-data\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo made']}\n`;
const consumer = producer => `kind: component\nname: read-data\nrun:\n  kind: job\n  init:\n  - artifacts: {files: ['${producer}/train.csv']}\n  - file: {filename: conf.json, content: '{"lr": 1}'}\n  container: {image: 'busybox:1.36', command: [cat, '${producer}/train.csv']}\n`;

test('a file\'s page draws who made it and who consumed it', async ({ alice, project }) => {
  const page = alice.page;
  const p = project.path;
  const made = await submitRun(page, p, PRODUCER);
  await waitForRun(page, p, made, ['succeeded']);
  const status = await page.evaluate(async u => (await fetch(u, { method: 'PUT', body: 'x,y\n1,2\n' })).status,
    `/api/v1/projects/${p}/runs/${made}/artifacts/artifacts/train.csv`);
  expect(status === 201, `upload answered ${status}`);
  // Named by the producer's uuid, as an upstream op's output is: found under its artifacts/.
  const used = await submitRun(page, p, consumer(made.replaceAll('-', '')));
  await waitForRun(page, p, used, ['succeeded']);

  const file = `/${p}/artifacts/${made}/artifacts/train.csv`;
  await open(page, file);
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#consumers #lineage-graph .dag-node[data-op="make-data"]');
  await page.waitForSelector('#consumers #lineage-graph .dag-node[data-op="read-data"]');
  expect(await page.locator('#consumers #lineage-graph .dag-edge').count() === 1, 'one edge: producer → consumer');
  await page.waitForSelector('#consumers li:has-text("read-data")');
  // A node opens its run.
  await page.click('#consumers #lineage-graph .dag-node[data-op="read-data"]');
  await page.waitForURL(u => u.pathname.endsWith(`/runs/${used}`));
  await page.waitForSelector('#lineage-inputs tr[data-input="artifacts/train.csv"]');
  expect((await page.textContent('#lineage-inputs tr[data-input="artifacts/train.csv"]')).includes('make-data'),
    'the file came from make-data');
  await page.waitForSelector('#lineage-inputs tr[data-input="conf.json"]');
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#lineage-graph .dag-node[data-op="make-data"]');

  // A file nobody consumed draws no graph.
  await page.evaluate(async u => fetch(u, { method: 'PUT', body: 'alone' }), `/api/v1/projects/${p}/runs/${made}/artifacts/artifacts/alone.txt`);
  await open(page, `/${p}/artifacts/${made}/artifacts/alone.txt`);
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#consumers');
  expect(await page.locator('#consumers #lineage-graph').count() === 0, 'no graph without consumers');
});
