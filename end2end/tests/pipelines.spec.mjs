import { test, expect, open, shot } from '../support.mjs';

// Pipelines: the live DAG view, passed values, and caching across runs. Own user and project (fixtures).
test("a pipeline draws its DAG with live status and passed values; a second run reuses every op", async ({ alice: { page: alice }, project }) => {
  const emit = String.raw`curl -sf -o /dev/null -H "Authorization: Bearer $MLFLOW_TRACKING_TOKEN" -H "Content-Type: application/json" -d "{\"run_id\": \"$MLFLOW_RUN_ID\", \"key\": \"out\", \"value\": \"v1\"}" $MLFLOW_TRACKING_URI/api/2.0/mlflow/runs/log-parameter`;
  const dag = String.raw`kind: component
name: flow
run:
  kind: dag
  operations:
  - name: prepare
    component:
      outputs: [{name: out, type: str}]
      run: {kind: job, container: {image: 'busybox:1.36', command: [sh, -c, 'sleep 1; ` + emit + String.raw`']}}
  - name: train
    params: {src: {ref: ops.prepare, value: outputs.out}}
    component:
      inputs: [{name: src, type: str}]
      run: {kind: job, container: {image: 'busybox:1.36', command: [sh, -c, 'echo training on {{ src }}']}}
  - name: report
    dependencies: [train]
    component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, done]}}}
`;
  const pipelines = [];
  for (const cached of ['false', 'true']) {
    await open(alice, `/${project.path}/runs`);
    await alice.click('#new-run summary');
    await alice.fill('#run-content', dag);
    await alice.click('#submit-run');
    await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
    pipelines.push(alice.url());
    await alice.waitForSelector('#dag .dag-node[data-op="report"]');
    if (cached === 'false') {
      // Live: the first op is seen queued or running, then everything succeeds without a reload.
      await alice.waitForSelector('#dag .dag-node[data-op="prepare"][data-status="running"], #dag .dag-node[data-op="prepare"][data-status="queued"], #dag .dag-node[data-op="prepare"][data-status="scheduled"]', { timeout: 15000 });
    }
    for (const op of ['prepare', 'train', 'report']) {
      await alice.waitForSelector(`#dag .dag-node[data-op="${op}"][data-status="succeeded"][data-cached="${cached}"]`, { timeout: 30000 });
    }
    await alice.waitForSelector('#run-status:has-text("succeeded")', { timeout: 15000 });
  }
  await alice.waitForSelector('#dag .dag-label:has-text("src = v1")');
  await alice.waitForSelector('#pipeline-progress:has-text("3 of 3 done")');
  await alice.waitForSelector('#pipeline-ops tr[data-op="train"] .cache-why:has-text("reused results of run")');
  // Its ops side by side: one column per op's run.
  const compare = await alice.getAttribute('#pipeline-compare', 'href');
  expect(new URL(compare, 'http://x').searchParams.get('runs').split(',').length === 3, `compare link: ${compare}`);
  const y = async op => Number(await alice.getAttribute(`#dag .dag-node[data-op="${op}"] rect`, 'y'));
  expect(await y('prepare') < await y('train') && await y('train') < await y('report'), 'layers go down the DAG');
  await alice.click('#dag-zoom-in');
  const width = Number(await alice.getAttribute('#dag', 'width'));
  expect(width > 0, 'zoomed drawing has a width');
  await shot(alice, '17-pipeline-dag');
  await alice.click('#dag .dag-node[data-op="train"]');
  await alice.waitForSelector('#run-pipeline:has-text("train")');
  await alice.waitForSelector('#run-cache[data-hit="true"]');
  await alice.waitForSelector('#run-params:has-text("v1")');
  // Its lineage: the op whose output it read above it, the op that read its output below; so from its link too.
  await alice.waitForSelector('#lineage-graph .dag-node[data-op="prepare"]');
  await alice.waitForSelector('#lineage-inputs tr[data-input="prepare"]');
  const opPage = new URL(alice.url()).pathname;
  await open(alice, opPage);
  await alice.reload();
  await alice.waitForSelector('body[data-hydrated]');
  await alice.waitForSelector('#lineage-graph .dag-node[data-op="prepare"]');
  const down = await alice.locator('#lineage-graph .dag-node').count();
  expect(down >= 3, `train's lineage shows prepare, itself and what read it (${down} nodes)`);
  // The runs table lists the two pipelines, not their six ops, until asked; the choice is in the address.
  const rows = n => alice.waitForFunction(n => document.querySelectorAll('#runs tr[data-run]').length === n, n, { timeout: 10000 });
  await open(alice, `/${project.path}/runs`);
  await alice.waitForSelector('#runs-scope:has-text("top-level runs")');
  expect(await alice.locator('#runs tr[data-run]').count() === 2, 'only the two pipelines are listed');
  await alice.click('#runs-children');
  await alice.waitForURL(u => u.searchParams.get('children') === '1');
  await alice.waitForSelector('#runs-scope:has-text("every run")');
  await rows(8);
  await alice.reload();
  await alice.waitForSelector('body[data-hydrated]');
  await rows(8);
  // A filter keeps the scope (the form carries it).
  await alice.fill('#runs-query', 'status:succeeded');
  await alice.click('#apply-query');
  await alice.waitForURL(u => u.searchParams.get('q') === 'status:succeeded' && u.searchParams.get('children') === '1');
  await rows(8);
  // "Compare all matching" compares what the table lists: the two pipelines, or with their ops all eight.
  const compared = n => alice.waitForFunction(n => document.querySelectorAll('#compare-table th[data-run]').length === n, n, { timeout: 10000 });
  await alice.click('#compare-matching');
  await alice.waitForURL(u => u.pathname.endsWith('/compare') && u.searchParams.get('children') === '1');
  await compared(8);
  await alice.reload();
  await alice.waitForSelector('body[data-hydrated]');
  await compared(8);
  await alice.goBack();
  await alice.click('#runs-children');
  await alice.waitForURL(u => !u.searchParams.has('children'));
  await rows(2);
  await alice.click('#compare-matching');
  await alice.waitForURL(u => u.pathname.endsWith('/compare') && !u.searchParams.has('children'));
  await compared(2);
  await alice.reload();
  await alice.waitForSelector('body[data-hydrated]');
  await compared(2);
});
