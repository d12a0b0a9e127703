import { test, expect, open, shot, baseURL, password } from '../support.mjs';

// The editor: compiling in the browser, graph edits that round-trip to the YAML, components, Run. Each journey
// has its own user and project (fixtures).
test("the editor compiles in the browser: located errors, live manifest and DAG, completion, Run", async ({ alice: { page: alice }, project }) => {
  await open(alice, `/${project.path}/editor`);
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
  // A DAG's op is cached by default: a command that changes on every run is warned about where it is written.
  await replace("kind: component\nname: flow\nrun:\n  kind: dag\n  operations:\n  - name: stamp\n    component:\n      run: {kind: job, container: {image: 'busybox:1.36', command: [sh, -c, 'echo {{ globals.created_at }}']}}\n");
  await alice.waitForSelector('#editor-problems li.problem.warning[data-line="8"]:has-text("cache_never_hits")');
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
  const saved = await alice.evaluate(async p => (await (await fetch(`/api/v1/projects/${p}/components/greeter`)).json()), `${project.path}`);
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

test("the editor shows a pod policy violation on its line while typing", async ({ alice: { page: alice }, project }) => {
  await open(alice, `/${project.path}/editor`);
  await alice.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  await alice.click('#editor .cm-content');
  await alice.keyboard.press('Control+A');
  await alice.keyboard.insertText("kind: component\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [echo]\n    securityContext: {privileged: true}\n");
  await alice.waitForSelector('#editor-problems li.problem.error[data-line="7"]:has-text("pod policy rule `privileged`")');
});

/// A site admin's call to the API (log-in by password, then the session cookie, from this site's origin).
async function asSiteAdmin(method, path, body) {
  const login = await fetch(`${baseURL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: process.env.MYELIN_E2E_ADMIN, password }),
  });
  if (login.status !== 200) throw new Error(`admin log-in answered ${login.status}`);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  return fetch(`${baseURL}${path}`, {
    method, headers: { 'content-type': 'application/json', cookie, origin: baseURL }, body: JSON.stringify(body),
  });
}

test("the editor checks against the project's own pod policy", async ({ alice: { page: alice }, project }) => {
  const set = await asSiteAdmin('PUT', `/api/v1/admin/projects/${project.path}/pod-policy`, { pod_policy: 'privileged' });
  expect(set.status === 200, `setting the project's policy answered ${set.status}`);
  await open(alice, `/${project.path}/editor`);
  await alice.reload();
  await alice.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  await alice.click('#editor .cm-content');
  await alice.keyboard.press('Control+A');
  await alice.keyboard.insertText("kind: component\nrun:\n  kind: job\n  container:\n    image: busybox:1.36\n    command: [echo]\n    securityContext: {privileged: true}\n");
  await alice.waitForSelector('#editor-status:has-text("compiles")');
  expect(await alice.locator('#editor-problems li.problem.error').count() === 0, 'no violation under a privileged project policy');
});
