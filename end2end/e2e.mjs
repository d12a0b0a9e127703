// Browser journeys against a running `myelin serve` (MYELIN_E2E_URL), in Debian's chromium.
// Prints "N passed, N failed"; screenshots go to end2end/artifacts/.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.env.MYELIN_E2E_URL ?? 'http://127.0.0.1:8000';
const artifacts = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });
const run = Date.now().toString(36);
const users = { alice: `alice-${run}`, bob: `bob-${run}`, carol: `carol-${run}` };
const project = `vision-${run}`;
const password = 'correct horse battery';

let passed = 0, failed = 0;
const problems = [];
async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok   ${name}`); }
  catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e.message ?? e).split('\n').join('\n     ')}`);
    await alice.screenshot({ path: `${artifacts}failed-${passed + failed}.png`, fullPage: true }).catch(() => {});
  }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});

async function session(who) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on('pageerror', e => problems.push(`${who}: page error at ${page.url()}: ${e.message}`));
  page.on('console', m => { if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`${who}: console: ${m.text()}`); });
  page.on('response', r => { if (r.status() >= 500) problems.push(`${who}: HTTP ${r.status()} ${r.url()}`); });
  return page;
}
async function open(page, path, at = base) {
  const resp = await page.goto(at + path);
  await page.waitForSelector('body[data-hydrated]', { timeout: 15000 });
  return resp;
}
async function shot(page, name) { await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true }); }
async function signUp(page, username, at = base) {
  await open(page, '/signup', at);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(u => u.pathname === '/projects', { timeout: 15000 });
  await page.waitForSelector(`#nav-user:has-text("${username}")`);
}

const alice = await session('alice'), bob = await session('bob'), carol = await session('carol');

await check('anonymous visitors are sent to the login page', async () => {
  await open(carol, '/projects');
  await carol.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
});
await check('sign up lands on an empty projects page', async () => {
  await signUp(alice, users.alice);
  await alice.waitForSelector('text=No projects yet');
  await shot(alice, '01-empty-projects');
});
await check('a bad project name is refused with a clear message', async () => {
  await alice.click('#new-project summary');
  await alice.fill('#project-name', 'Bad Name!');
  await alice.evaluate(() => document.querySelector('#project-name').removeAttribute('required'));
  await alice.click('#create-project');
  await alice.waitForSelector('.form-error:has-text("project name")');
});
await check('create a project and land on its page', async () => {
  await alice.fill('#project-name', project);
  await alice.fill('#project-description', 'Image models');
  await alice.click('#create-project');
  await alice.waitForURL(u => u.pathname === `/${users.alice}/${project}`, { timeout: 15000 });
  await alice.waitForSelector('#project-role:has-text("owner")');
  await shot(alice, '02-project');
});
await check('a run submitted from the UI runs live to success', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.fill('#run-content', "kind: component\nname: hello\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [sh, -c, 'for i in 1 2 3 4 5; do echo hello e2e $i; sleep 0.4; done']\n");
  await alice.click('#submit-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('body[data-hydrated]');
  await alice.waitForSelector('#logs:has-text("hello e2e 1")', { timeout: 15000 });
  await alice.waitForSelector('#run-status:has-text("succeeded")', { timeout: 20000 });
  await alice.waitForSelector('#logs:has-text("hello e2e 5")');
  await new Promise(r => setTimeout(r, 1500)); // a reconnecting stream would replay the lines
  const shown = (await alice.textContent('#logs')).split('hello e2e 1').length - 1;
  expect(shown === 1, `log lines shown ${shown} times`);
  const timeline = await alice.textContent('#timeline');
  for (const s of ['queued', 'running', 'succeeded']) expect(timeline.includes(s), `timeline lacks ${s}: ${timeline}`);
  await shot(alice, '02b-run-succeeded');
  await alice.click('#copy-run');
  await alice.waitForURL(u => u.searchParams.has('copy'), { timeout: 15000 });
  const copied = await alice.inputValue('#run-content');
  expect(copied.includes('hello e2e'), `copy-and-edit did not prefill the form: ${copied}`);
});
await check('a failing run shows its exit code; a long one can be stopped', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.setInputFiles('#run-file', { name: 'up.yaml', mimeType: 'text/yaml', buffer: Buffer.from('kind: component\nname: uploaded\n') });
  await alice.waitForFunction(() => document.querySelector('#run-content').value.includes('name: uploaded'));
  await alice.fill('#run-content', "kind: component\nname: broken\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo about to fail; exit 4']}\n");
  await alice.click('#submit-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('#run-exit:has-text("4")', { timeout: 20000 });
  await alice.waitForSelector('#run-status:has-text("failed")');
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.fill('#run-content', "kind: component\nname: sleeper\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo sleeping; sleep 120']}\n");
  await alice.click('#submit-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('body[data-hydrated]');
  await alice.waitForSelector('#run-status:has-text("running")', { timeout: 20000 });
  await alice.click('#stop-run');
  await alice.waitForSelector('#run-status:has-text("stopped")', { timeout: 20000 });
  await shot(alice, '02c-run-stopped');
});
await check('the params form is generated from the inputs and its values reach the run', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.fill('#run-content', "kind: component\nname: typed\ninputs:\n- {name: lr, type: float, description: learning rate}\n- {name: epochs, type: int, value: 3, isOptional: true}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo lr={{ lr }} epochs={{ epochs }}']}\n");
  await alice.click('#load-params');
  await alice.waitForSelector('#params-form input[name="param-lr"]');
  expect(await alice.inputValue('#params-form input[name="param-epochs"]') === '3', 'the default should prefill the field');
  await alice.fill('#params-form input[name="param-lr"]', '0.05');
  await alice.click('#submit-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('#logs:has-text("lr=0.05 epochs=3")', { timeout: 20000 });
});
const trainer = `kind: component
name: trainer
outputs:
- {name: loss, type: float}
run:
  kind: job
  container:
    image: python:3.11
    command: [python3, -c]
    args:
    - |
      import json, os, urllib.request
      def call(path, body, method="POST"):
          req = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + path, data=body, method=method,
              headers={"Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"], "Content-Type": "application/json"})
          urllib.request.urlopen(req).read()
      rid = os.environ["MLFLOW_RUN_ID"]
      ms = [{"key": "loss", "value": 1.0 / (i + 1), "timestamp": 1700000000000 + 1000 * i, "step": i} for i in range(200)]
      call("/api/2.0/mlflow/runs/log-batch", json.dumps({"run_id": rid, "metrics": ms, "params": [{"key": "arch", "value": "resnet"}], "tags": [{"key": "team", "value": "vision"}]}).encode())
      call("/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/model.txt" % (os.environ["MLFLOW_EXPERIMENT_ID"], rid), b"weights", "PUT")
      print("logged through the MLflow API")
`;
await check('a job logs metrics and an artifact; the run page charts them and lists the file', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.fill('#run-content', trainer);
  await alice.click('#submit-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('body[data-hydrated]');
  await alice.waitForSelector('#run-status:has-text("succeeded")', { timeout: 30000 });
  await alice.waitForSelector('#run-metrics:has-text("loss")', { timeout: 10000 });
  for (const [id, text] of [['#run-outputs', '0.005'], ['#run-logged-params', 'resnet'], ['#run-tags', 'vision']]) {
    await alice.waitForSelector(`${id}:has-text("${text}")`);
  }
  await alice.waitForFunction(() => [...document.querySelectorAll('#chart-loss .chart-svg polyline')].some(l => l.getAttribute('points').trim().split(' ').length >= 100));
  const linear = await alice.innerHTML('#chart-loss .chart-svg');
  await alice.check('#chart-loss .chart-log');
  await alice.waitForFunction(before => document.querySelector('#chart-loss .chart-svg').innerHTML !== before, linear);
  await alice.selectOption('#chart-loss .chart-x', 'relative');
  await alice.waitForSelector('#chart-loss svg :text("seconds since the first point")');
  const box = await alice.locator('#chart-loss .chart-svg').boundingBox();
  await alice.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  await alice.waitForFunction(() => !document.querySelector('#chart-loss .chart-hover').textContent.startsWith('Hover'), null, { timeout: 5000 }).catch(() => {});
  const hovered = await alice.textContent('#chart-loss .chart-hover');
  expect(hovered.includes('seconds since the first point 199: 0.005'), `hover shows ${hovered}`);
  await shot(alice, '02d-run-metrics');
  await alice.click('#files a.dir:has-text("artifacts")');
  await alice.waitForSelector('#files a:has-text("model.txt")');
  const href = await alice.getAttribute('#files a:has-text("model.txt")', 'href');
  const body = await alice.evaluate(async u => (await fetch(u)).text(), href);
  expect(body === 'weights', `artifact download returned ${body}`);
});
await check('a run with caching on is reused the second time, and its page says so', async () => {
  const cachedJob = `kind: component\nname: cached-hello\ncache: {disable: false}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo cached']}\n`;
  for (const hit of [false, true]) {
    await open(alice, `/${users.alice}/${project}/runs`);
    await alice.click('#new-run summary');
    await alice.fill('#run-content', cachedJob);
    await alice.click('#submit-run');
    await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
    await alice.waitForSelector(`#run-cache[data-hit="${hit}"]`, { timeout: 15000 });
    await alice.waitForSelector('#run-status:has-text("succeeded")', { timeout: 30000 });
  }
  await alice.waitForSelector('#run-cache:has-text("reused results of run")');
  await shot(alice, '16-cache-hit');
});
await check('a pipeline draws its DAG with live status and passed values; a second run reuses every op', async () => {
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
    await open(alice, `/${users.alice}/${project}/runs`);
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
});
await check('the editor compiles in the browser: located errors, live manifest and DAG, completion, Run', async () => {
  await open(alice, `/${users.alice}/${project}/editor`);
  await alice.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  const replace = async text => {
    await alice.click('#editor .cm-content');
    await alice.keyboard.press('Control+A');
    await alice.keyboard.insertText(text);
  };
  await replace("kind: component\nrun:\n  kind: job\n  contianer: {image: busybox}\n");
  await alice.waitForSelector('#editor-problems li.problem.error[data-line="4"]:has-text("contianer")');
  await alice.waitForSelector('#editor .cm-lintRange-error');
  const underlined = await alice.evaluate(() => {
    const mark = document.querySelector('#editor .cm-lintRange-error');
    return mark.closest('.cm-line').textContent;
  });
  expect(underlined.includes('contianer'), `the underline is on line 4, got ${underlined}`);
  await alice.keyboard.press('Control+Home');
  await alice.click('#editor-problems li.problem.error');
  await alice.waitForSelector('#editor .cm-activeLine:has-text("contianer")');
  await shot(alice, '18-editor-error');
  await replace("kind: component\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [echo, hi]}\n");
  await alice.waitForSelector('#editor-status:has-text("compiles")');
  await alice.waitForSelector('#editor-manifest:has-text("busybox:1.36")');
  // Completion of keys from the schema at the cursor's path.
  await replace("kind: component\nrun:\n  kind: job\n  environment:\n    node");
  await alice.keyboard.press('Control+Space');
  await alice.waitForSelector('.cm-tooltip-autocomplete :text("nodeSelector")');
  await alice.keyboard.press('Escape');
  // A DAG file draws its graph; 60 ops over 300 lines measure the keystroke cost.
  let dag = 'kind: component\nname: big\nrun:\n  kind: dag\n  operations:\n';
  for (let i = 0; i < 59; i++) {
    const deps = i === 0 ? '[]' : `[op${Math.floor((i - 1) / 2)}]`;
    dag += `  - name: op${i}\n    dependencies: ${deps}\n    component:\n      run: {kind: job, container: {image: 'busybox:1.36', command: [echo, '${i}']}}\n    params: {}\n`;
  }
  await replace(dag);
  await alice.waitForSelector('#editor-dag .dag-node[data-op="op58"]');
  const lines = await alice.evaluate(() => document.querySelectorAll('#editor .cm-line').length);
  await alice.evaluate(() => { window.__myelinEditorTimings.length = 0; });
  await alice.keyboard.press('Control+End');
  await alice.keyboard.type('# a comment typed key by key', { delay: 20 });
  const timings = await alice.evaluate(() => Array.from(window.__myelinEditorTimings));
  timings.sort((a, b) => a - b);
  const median = timings[Math.floor(timings.length / 2)];
  console.log(`     keystroke -> diagnostics on a ${dag.split('\n').length - 1}-line DAG file: median ${median.toFixed(2)} ms, max ${timings[timings.length - 1].toFixed(2)} ms (n=${timings.length})`);
  expect(timings.length >= 20, `timings ${timings.length}`);
  await shot(alice, '19-editor-dag');
  // Graph editing round-trips to the YAML: an edge becomes a dependency, a cycle is refused, a deleted op goes.
  await replace("kind: component\nrun:\n  kind: dag\n  operations:\n  # keep this comment\n  - name: a\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, a]}}}\n  - name: b\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, b]}}}\n");
  await alice.waitForSelector('#editor-dag .dag-node[data-op="b"]');
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.waitForFunction(() => document.querySelector('#editor .cm-content').innerText.includes('dependencies: [a]'));
  await alice.waitForSelector('#editor-dag .dag-edge', { state: 'attached' });
  const kept = await alice.evaluate(() => document.querySelector('#editor .cm-content').innerText.includes('# keep this comment'));
  expect(kept, 'the comment survives the graph edit');
  // The same two clicks again delete the edge; once more restores it.
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.waitForFunction(() => document.querySelector('#editor .cm-content').innerText.includes('dependencies: []'));
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.waitForFunction(() => document.querySelector('#editor .cm-content').innerText.includes('dependencies: [a]'));
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.waitForSelector('#editor-dag-note:has-text("refused")');
  await alice.waitForSelector('#editor-dag-note:has-text("cycle")');
  // Wire an upstream output to an input from the op's panel.
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.waitForSelector('#editor-op-panel[data-op="b"]');
  await alice.fill('#editor-op-param', 'src');
  await alice.fill('#editor-op-value', 'ops.a.outputs.out');
  await alice.click('#editor-op-set');
  await alice.waitForFunction(() => document.querySelector('#editor .cm-content').innerText.includes('"src":{"ref":"ops.a","value":"outputs.out"}'));
  await alice.waitForSelector('#editor-dag .dag-label:has-text("src <- out")', { state: 'attached' });
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.waitForSelector('#editor-op-panel[data-op="a"]');
  // `a` cannot go while `b` reads its output: refused, with the compiler's words.
  await alice.click('#editor-delete-op');
  await alice.waitForSelector('#editor-dag-note:has-text("refused")');
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.fill('#editor-op-param', 'who');
  await alice.fill('#editor-op-value', 'ann');
  await alice.click('#editor-op-set');
  await alice.waitForFunction(() => document.querySelector('#editor .cm-content').innerText.includes('params: {"who":{"value":"ann"}}'));
  await alice.waitForSelector('#editor-op-panel dt:has-text("who")');
  await alice.click('#editor-dag .dag-node[data-op="a"]');
  await alice.click('#editor-dag .dag-node[data-op="b"]');
  await alice.waitForSelector('#editor-op-panel[data-op="b"]');
  await alice.click('#editor-delete-op');
  await alice.waitForFunction(() => !document.querySelector('#editor .cm-content').innerText.includes('name: b'));
  await alice.waitForSelector('#editor-status:has-text("compiles")');
  // Save a component (versioned by its text), then add an op that runs it from the DAG pane.
  await replace("kind: component\ninputs: [{name: who, type: str, value: world, isOptional: true}]\nrun: {kind: job, container: {image: 'busybox:1.36', command: [echo, 'hi {{ who }}']}}\n");
  await alice.fill('#editor-save-name', 'greeter');
  await alice.click('#editor-save');
  await alice.waitForSelector('#editor-saved:has-text("saved greeter:")');
  const saved = await alice.evaluate(async p => (await (await fetch(`/api/v1/projects/${p}/components/greeter`)).json()), `${users.alice}/${project}`);
  expect(saved.length === 1 && saved[0].version.length === 64, `component versions ${JSON.stringify(saved)}`);
  await replace("kind: component\nrun:\n  kind: dag\n  operations:\n  - name: a\n    component: {run: {kind: job, container: {image: 'busybox:1.36', command: [echo, a]}}}\n");
  await alice.waitForSelector('#editor-add-component option[value^="greeter:"]', { state: 'attached' });
  const ref = await alice.getAttribute('#editor-add-component option[value^="greeter:"]', 'value');
  await alice.selectOption('#editor-add-component', ref);
  await alice.fill('#editor-add-name', 'greet');
  await alice.click('#editor-add-op');
  await alice.waitForFunction(r => document.querySelector('#editor .cm-content').innerText.includes(`hubRef: ${r}`), ref);
  await alice.waitForSelector('#editor-dag .dag-node[data-op="greet"]');
  await alice.waitForSelector('#editor-status:has-text("compiles")');
  // A required input: the params form fills it, the compile follows, and Run sends it.
  await replace("kind: component\nname: from-editor\ninputs: [{name: msg, type: str}]\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [echo, '{{ msg }}']}\n");
  await alice.waitForSelector('#editor-problems li.problem.error:has-text("required_input")');
  await alice.fill('#editor-params-form input[name="param-msg"]', 'edited');
  await alice.waitForSelector('#editor-status:has-text("compiles")');
  await alice.waitForSelector('#editor-params:has-text("edited")');
  await alice.click('#editor-run');
  await alice.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  await alice.waitForSelector('#run-name:has-text("from-editor")');
  await alice.waitForSelector('#run-params:has-text("edited")');
});
await check('the runs table filters with the query language, shows metric columns and sorts by them', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.fill('#runs-query', 'metrics.loss:<0.01, status:succeeded');
  await alice.fill('#runs-columns', 'metrics.loss, metrics.loss:max, params.arch');
  await alice.click('#apply-query');
  await alice.waitForURL(u => u.searchParams.get('q') === 'metrics.loss:<0.01, status:succeeded');
  await alice.waitForSelector('#runs th:has-text("metrics.loss:max")');
  const rows = await alice.locator('#runs tbody tr').count();
  expect(rows === 1, `the query should match only the trainer run, got ${rows} rows`);
  const cells = await alice.locator('#runs tbody tr td.num').allTextContents();
  expect(JSON.stringify(cells) === JSON.stringify(['0.0050', '1.0000', 'resnet']), `cells ${JSON.stringify(cells)}`);
  await alice.click('#runs th a:has-text("metrics.loss:max")');
  await alice.waitForURL(u => u.searchParams.get('sort') === 'metrics.loss:max');
  await shot(alice, '02e-runs-query');
  await alice.fill('#runs-query', 'metrics.loss:<abc');
  await alice.click('#apply-query');
  await alice.waitForSelector('.error-box:has-text("at character 14")');
});
await check('finished runs are deleted in bulk after confirmation', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  const before = await alice.locator('#runs tbody tr').count();
  for (const status of ['failed', 'stopped']) {
    await alice.locator(`#runs tr:has(.status-${status}) input.pick`).first().check();
  }
  alice.once('dialog', d => d.accept());
  await alice.click('#bulk-delete');
  await alice.waitForSelector('#bulk-result:has-text("2 run(s) deleted")');
  await alice.waitForFunction(n => document.querySelectorAll('#runs tbody tr').length === n, before - 2);
});
await check('an invalid polyaxonfile is refused with its line and column', async () => {
  await open(alice, `/${users.alice}/${project}/runs`);
  await alice.click('#new-run summary');
  await alice.fill('#run-content', "kind: component\nrun:\n  kind: job\n  contianer: {image: x}\n");
  await alice.click('#submit-run');
  await alice.waitForSelector('.form-error:has-text("4:3: unexpected key `contianer`")');
});
await check('the project is listed and found by search', async () => {
  await open(alice, `/projects?q=${encodeURIComponent('vision')}`);
  await alice.waitForSelector(`#projects >> text=${project}`);
});
await check('two more users sign up', async () => {
  await signUp(bob, users.bob);
  await signUp(carol, users.carol);
});
await check('the owner adds the second user as viewer', async () => {
  await open(alice, `/${users.alice}/${project}/settings`);
  await alice.fill('#member-username', users.bob);
  await alice.selectOption('#member-role', 'viewer');
  await alice.click('#add-member');
  await alice.waitForSelector(`#members tr[data-member="${users.bob}"]`);
  await shot(alice, '03-members');
});
await check('the viewer sees the project, read-only', async () => {
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
  await bob.waitForSelector('#runs');
  expect(await bob.locator('#new-run').count() === 0, 'a viewer must not get the new-run form');
  await shot(bob, '04-viewer-settings');
});
await check('a non-member gets "not found" (404), not the project', async () => {
  const resp = await open(carol, `/${users.alice}/${project}`);
  expect(resp.status() === 404, `expected HTTP 404, got ${resp.status()}`);
  await carol.waitForSelector('text=Not found');
  expect(await carol.locator('#project-title').count() === 0, 'the project title leaked');
  await shot(carol, '05-not-found');
});
await check('an API token is created once and listed by prefix', async () => {
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
await check('a site admin closes sign-up; others do not get the setting', async () => {
  await open(alice, '/account');
  await alice.selectOption('#signup', 'closed');
  await alice.click('#site-settings button[type=submit]');
  let status = 0;
  for (let i = 0; i < 50 && status !== 403; i++) {
    await new Promise(r => setTimeout(r, 100));
    const r = await fetch(`${base}/api/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `dave-${run}`, password }) });
    status = r.status;
  }
  expect(status === 403, `sign-up should be closed, got ${status}`);
  await open(bob, '/account');
  await bob.waitForSelector('h1:has-text("Account")');
  expect(await bob.locator('#site-settings').count() === 0, 'a non-admin must not see site settings');
});
await check('log out ends the session', async () => {
  await alice.click('#logout');
  await alice.waitForURL(u => u.pathname === '/login', { timeout: 15000 });
  await open(alice, `/${users.alice}/${project}`);
  await alice.waitForSelector('text=Not found');
});
// A second server with the Kubernetes executor (scripts/e2e.sh starts it on the test control plane, with one
// tainted 8-GPU node and no kubelet): the pre-flight refusal, a forced run's diagnosis, the cluster page.
const k8s = process.env.MYELIN_E2E_K8S_URL;
if (k8s) {
  const dave = await session('dave');
  const gpuJob = `kind: component
name: gpu-train
run:
  kind: job
  container:
    image: pytorch/pytorch:2.5
    command: [python, train.py]
    resources: {limits: {nvidia.com/gpu: 2}}
`;
  await check('kubernetes: a GPU run without a toleration is refused before queueing, then forced, and says why it waits', async () => {
    await signUp(dave, `dave-${run}`, k8s);
    const made = await dave.evaluate(async () => (await fetch('/api/v1/projects', { method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'gpu', description: '' }) })).status);
    expect(made === 201, `project create answered ${made}`);
    await open(dave, `/dave-${run}/gpu/runs`, k8s);
    await dave.click('#new-run summary');
    await dave.fill('#run-content', gpuJob);
    await dave.click('#submit-run');
    await dave.waitForSelector('.form-error:has-text("add a toleration")', { timeout: 15000 });
    await shot(dave, '30-k8s-preflight');
    await dave.check('#run-force');
    await dave.click('#submit-run');
    await dave.waitForURL(u => /\/runs\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
    // The page follows the run live: the diagnosis appears without a reload once the scheduler has spoken.
    await dave.waitForSelector('#run-diagnosis[data-code="untolerated_taint"]', { timeout: 30000 });
    await dave.waitForSelector('#run-diagnosis:has-text("1 nvidia.com/gpu node exists but carries taint nvidia.com/gpu=present:NoSchedule")');
    await dave.waitForSelector('#run-scheduler-message:has-text("untolerated taint")');
    await dave.waitForSelector('#run-status:has-text("unschedulable")');
    await shot(dave, '31-k8s-diagnosis');
  });
  await check('kubernetes: the editor shows the cluster\'s pre-flight warning beside the lint', async () => {
    await open(dave, `/dave-${run}/gpu/editor`, k8s);
    await dave.waitForSelector('#editor .cm-editor', { timeout: 15000 });
    await dave.click('#editor .cm-content');
    await dave.keyboard.press('Control+A');
    await dave.keyboard.insertText(gpuJob);
    await dave.waitForSelector('#editor-cluster[data-code="untolerated_taint"]:has-text("add a toleration")', { timeout: 15000 });
  });
  await check('kubernetes: the cluster page shows the GPU node and the queue with the reason', async () => {
    await open(dave, '/cluster', k8s);
    await dave.waitForSelector('#cluster-nodes tr:has-text("0 / 8")');
    await dave.waitForSelector('#cluster-queue tr:has-text("untolerated_taint")');
    await shot(dave, '32-k8s-cluster');
  });
}

await check('no page errors, console errors or 5xx answers', async () => {
  expect(problems.length === 0, problems.join('\n'));
});

await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
