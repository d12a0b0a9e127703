import { test, expect, open, session, submitRun, waitForRun, stopRun } from '../support.mjs';

// Every route, opened the way people share pages — a link pasted into a new tab — and then reloaded, for every
// state its data can be in. The guard fixture fails the journey on any page error, console error (a hydration
// panic is one) or 5xx answer; `open` fails when the page never hydrates.

const job = cmd => `kind: component\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, ${JSON.stringify(cmd)}]\n`;
const step = cmd => `{run: {kind: job, container: {image: busybox:1.36, command: [sh, -c, ${JSON.stringify(cmd)}]}}}`;
const triggers = `kind: component\nname: triggers\nrun:\n  kind: dag\n  operations:\n  - {name: broken, component: ${step('exit 3')}}\n  - {name: after, dependencies: [broken], component: ${step('echo after')}}\n  - {name: gated, conditions: '{{ 1 > 2 }}', component: ${step('echo gated')}}\n`;
const waiting = `kind: component\nname: waiting\nrun:\n  kind: dag\n  operations:\n  - {name: first, component: ${step('echo first')}}\n  - {name: second, dependencies: [first], component: ${step('echo second')}}\n`;
const grid = `kind: operation\nname: sweep\nmatrix:\n  kind: grid\n  params:\n    lr: {kind: choice, value: [0.1, 0.01]}\ncomponent:\n  inputs: [{name: lr, type: float}]\n  run:\n    kind: job\n    container: {image: busybox:1.36, command: [sh, -c, 'echo lr={{ lr }}']}\n`;

/// Opens `path` by URL, then reloads it; `selector` must show both times.
async function visit(page, path, selector) {
  await open(page, path);
  await page.waitForSelector(selector, { timeout: 15000 });
  await page.reload();
  await page.waitForSelector('body[data-hydrated]', { timeout: 15000 });
  await page.waitForSelector(selector, { timeout: 15000 });
}

/// The ops of a pipeline by name: `{ name: { run, status } }`.
async function ops(page, projectPath, id) {
  const g = await page.evaluate(async u => (await fetch(u)).json(), `/api/v1/projects/${projectPath}/runs/${id}/graph`);
  return Object.fromEntries(g.nodes.map(n => [n.name, { run: n.run, status: n.status }]));
}

async function api(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => (await fetch(path, {
    method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  })).status, [method, path, body]);
}

test("every run page hydrates from a link and a reload, whatever the run's state", async ({ alice: { page }, project }) => {
  test.setTimeout(180_000);
  const p = project.path;
  const run = id => `/${p}/runs/${id}`;

  // Finished states first, while the project runs two at a time.
  const succeeded = await submitRun(page, p, job('echo fine'));
  const failed = await submitRun(page, p, job('echo broken; exit 3'));
  const dag = await submitRun(page, p, triggers);
  const matrix = await submitRun(page, p, grid);
  await waitForRun(page, p, succeeded, ['succeeded']);
  await waitForRun(page, p, failed, ['failed']);
  await waitForRun(page, p, dag, ['failed'], 60000);
  await waitForRun(page, p, matrix, ['succeeded'], 60000);
  expect(await api(page, 'POST', `/api/v1/projects/${p}/runs/${succeeded}/tracking`,
    { metrics: [{ key: 'loss', value: 0.5, timestamp: 1, step: 0 }, { key: 'loss', value: 0.25, timestamp: 2, step: 1 }], tags: { team: 'e2e' } }) === 204,
    'metrics logged');
  const dagOps = await ops(page, p, dag);
  expect(dagOps.after.status === 'upstream_failed' && dagOps.gated.status === 'skipped', `op states: ${JSON.stringify(dagOps)}`);
  const child = Object.values(await ops(page, p, matrix))[0].run;

  // Live states: one run at a time, a long one holding the slot.
  expect(await api(page, 'PATCH', `/api/v1/projects/${p}`, { concurrency: 1 }) === 200, 'concurrency set to 1');
  const running = await submitRun(page, p, job('sleep 300'));
  await waitForRun(page, p, running, ['running']);
  const queued = await submitRun(page, p, job('echo later'));
  const stopped = await submitRun(page, p, job('sleep 300'));
  await stopRun(page, p, stopped);
  await waitForRun(page, p, stopped, ['stopped']);
  const pending = await submitRun(page, p, waiting);
  await waitForRun(page, p, queued, ['queued']);
  const pendingOps = await ops(page, p, pending);
  expect(pendingOps.second.status === 'created', `a waiting op is created: ${JSON.stringify(pendingOps)}`);

  const pages = [
    [run(succeeded), 'table#run-metrics'],
    [run(failed), '#run-status'],
    [run(running), '#logs'],
    [run(queued), '#run-status'],
    [run(stopped), '#run-status'],
    [run(dag), '#run-status'],
    [run(dagOps.broken.run), '#run-status'],
    [run(dagOps.after.run), '#run-status'],
    [run(dagOps.gated.run), '#run-status'],
    [run(matrix), '#run-status'],
    [run(child), '#run-status'],
    [run(pending), '#run-status'],
    [run(pendingOps.second.run), '#run-status'],
    // The overview with every kind of run: the queue in order, the best runs by the logged metric.
    [`/${p}`, '#overview-queued .queue-position'],
    [`/${p}?metric=loss&goal=max`, '#best-runs'],
    // "Copy and edit" from a run page: the runs tab with the run's file in its form.
    [`/${p}/runs?copy=${succeeded}`, '#runs-filter'],
  ];
  for (const [path, selector] of pages) await visit(page, path, selector);

  await stopRun(page, p, running);
  await stopRun(page, p, pending);
});

test('every other route hydrates from a link and a reload', async ({ browser, alice: { page }, project }) => {
  const p = `/${project.path}`;
  for (const [path, selector] of [
    ['/', 'body'],
    ['/projects', '#projects'],
    ['/account', '#token-name'],
    ['/cluster', '#cluster-summary'],
    [p, '#project-title'],
    [`${p}/runs`, '#runs-filter'],
    [`${p}/editor`, '#editor .cm-editor'],
    [`${p}/pipelines`, 'main'],
    [`${p}/compare`, '#compare-empty'],
    [`${p}/artifacts`, 'main'],
    [`${p}/models`, 'main'],
    [`${p}/settings`, '#members'],
    [`${p}/runs/00000000-0000-0000-0000-000000000000`, 'main'],
    ['/no/such/page/here', 'main'],
    [`/nobody-${Date.now()}/nothing`, 'main'],
  ]) await visit(page, path, selector);

  const stranger = await session(browser, 'stranger');
  for (const path of ['/login', '/signup']) await visit(stranger, path, '#username');
});
