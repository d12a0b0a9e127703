import { test, expect, open, waitForRun, createProject, unique } from '../support.mjs';

// Team review of a model: a member registers a version and asks for `production`; a project admin finds it in
// the inbox, reads the evidence, comments and approves; the alias moves and the history shows both versions.
// The member cannot approve their own request; a comment's HTML stays text. Every page of the journey, opened
// from its link and reloaded, hydrates cleanly (the guard fails on any page or console error).

const TRAIN = `kind: component\nname: train\ninputs:\n- {name: lr, type: float}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: ['true']}\n`;

async function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    return [r.status, await r.text()];
  }, [method, path, body]);
}

async function ok(page, method, path, body, want = 200) {
  const [status, text] = await call(page, method, path, body);
  expect(status === want, `${method} ${path}: ${status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// Opens `path` by URL, then reloads it; `selector` must show both times.
async function visit(page, path, selector) {
  await open(page, path);
  await page.waitForSelector(selector, { timeout: 15000 });
  await page.reload();
  await page.waitForSelector('body[data-hydrated]', { timeout: 15000 });
  await page.waitForSelector(selector, { timeout: 15000 });
}

test('a member asks for production, an admin reviews and approves, the alias moves', async ({ alice, newUser, project }) => {
  test.setTimeout(120_000);
  const admin = alice.page;
  const p = project.path;
  const mem = await newUser('mem');
  await ok(admin, 'POST', `/api/v1/projects/${p}/members`, { username: mem.name, role: 'member' }, 201);
  const page = mem.page;

  // Two runs with metrics, each registered as a version of `clf` through MLflow's API (as the client does).
  const runs = [];
  for (const [i, acc] of [0.81, 0.9].entries()) {
    const r = await ok(page, 'POST', `/api/v1/projects/${p}/runs`, { content: TRAIN, params: { lr: 0.1 / (i + 1) }, name: `train-${i}` }, 201);
    await waitForRun(page, p, r.uuid, ['succeeded']);
    await ok(page, 'POST', `/api/v1/projects/${p}/runs/${r.uuid}/tracking`, { metrics: [{ key: 'accuracy', value: acc, timestamp: 1, step: 0 }] }, 204);
    runs.push(r.uuid);
  }
  const hex = id => id.replaceAll('-', '');
  await ok(page, 'POST', '/api/2.0/mlflow/registered-models/create', { name: 'clf' });
  for (const id of runs) {
    await ok(page, 'POST', '/api/2.0/mlflow/model-versions/create', { name: 'clf', source: `runs:/${hex(id)}/model`, run_id: hex(id) });
  }
  // A stock client cannot move the protected alias.
  const [denied, why] = await call(page, 'POST', '/api/2.0/mlflow/registered-models/alias', { name: 'clf', alias: 'production', version: '1' });
  expect(denied === 403 && why.includes('promotion request'), `direct move: ${denied} ${why}`);

  // The Models tab lists it; the model page shows both versions; the member asks for v1 first (approved below
  // by the admin through the API), then v2 through the page's form.
  await visit(page, `/${p}/models`, '#models tr[data-model="clf"]');
  await page.click('#models a:has-text("clf")');
  await page.waitForSelector('#versions tr[data-version="2"]');
  const first = await ok(page, 'POST', `/api/v1/projects/${p}/models/clf/promotions`, { version: 1, alias: 'production', reason: 'baseline' }, 201);
  await ok(admin, 'POST', `/api/v1/reviews/${first.id}/approve`, { body: '' });
  await visit(page, `/${p}/models/clf`, '#promote-form');
  await page.selectOption('#promote-version', '2');
  await page.fill('#promote-reason', 'Better **accuracy** <script>window.pwned = 1</script>');
  await page.click('#promote-form button[type=submit]');
  await page.waitForURL(u => /^\/reviews\/[0-9a-f-]{36}$/.test(u.pathname), { timeout: 15000 });
  const requestPath = new URL(page.url()).pathname;
  await page.waitForSelector('#request-state:has-text("open")');
  expect(await page.locator('#request-reason strong:has-text("accuracy")').count() === 1, 'the reason is Markdown');
  expect(await page.evaluate(() => window.pwned) === undefined, 'the reason\'s HTML is text');
  expect(await page.locator('#approve-button').count() === 0, 'no approve button on one\'s own request');
  const [own] = await call(page, 'POST', `/api/v1/reviews/${requestPath.split('/')[2]}/approve`, {});
  expect(own === 403, `approving one's own request: ${own}`);

  // The admin: the top bar counts what awaits them; the inbox, the evidence (accuracy up against v1, lr
  // differs), a comment, approval.
  await visit(admin, '/reviews', `#awaiting a[href="${requestPath}"]`);
  expect((await admin.textContent('#nav-awaiting')).includes('1 to review'), 'the top bar counts the request');
  expect(await page.locator('#nav-awaiting').count() === 0, 'nothing awaits the requester');
  await admin.click(`#awaiting a[href="${requestPath}"]`);
  await admin.waitForSelector('#evidence-metrics tr[data-metric="accuracy"][data-verdict="better"]');
  await admin.waitForSelector('#evidence-diff th:has-text("lr")');
  await admin.fill('#comment-body', 'Looks *good* <img src=x onerror="window.pwned=1">');
  await admin.click('#comment-form button[type=submit]');
  await admin.waitForSelector('#thread li[data-kind="comment"] em:has-text("good")');
  expect(await admin.evaluate(() => window.pwned) === undefined, 'a comment\'s HTML is text');
  await admin.click('#approve-button');
  await admin.waitForSelector('#request-state:has-text("approved")');
  await admin.waitForSelector('#nav-awaiting', { state: 'detached' });

  // The alias moved; the version page's history shows v1 then v2.
  const got = await ok(page, 'GET', '/api/2.0/mlflow/registered-models/alias?name=clf&alias=production');
  expect(got.model_version.version === '2', `production -> ${JSON.stringify(got)}`);
  await visit(page, `/${p}/models/clf/versions/2`, '#lineage-run');
  expect((await page.textContent('#version-history')).includes('production → v2'), 'history of v2');
  const history = await ok(page, 'GET', `/api/v1/projects/${p}/models/clf/aliases/production/history`);
  expect(history.moves.map(m => m.version).join(',') === '1,2', `moves: ${JSON.stringify(history.moves)}`);

  // Every page of the journey, opened from its link and reloaded.
  await visit(page, `/${p}/models?q=cl`, '#models tr[data-model="clf"]');
  await visit(page, `/${p}/models/clf`, '#model-name .protected');
  // What is in production now, and which run produced it: one click from the model.
  await page.click('#model-name a[data-alias="production"]');
  await page.waitForSelector('#version-title:has-text("v2")');
  await page.waitForSelector(`#lineage-run[href$="/runs/${runs[1]}"]`);
  await visit(page, `/${p}/models/clf/versions/1`, '#version-history li');
  await visit(page, '/reviews', `#mine a[href="${requestPath}"]`);
  await visit(page, requestPath, '#request-state:has-text("approved")');
  await visit(admin, requestPath, '#thread li[data-kind="approve"]');

  // The version's files, listed from where it was registered (the run's `artifacts/model`).
  const exp = (await ok(page, 'GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${p}`)).experiment.experiment_id;
  const [put, putText] = await page.evaluate(async path => {
    const r = await fetch(path, { method: 'PUT', body: 'flavors: {}\n' });
    return [r.status, await r.text()];
  }, `/api/2.0/mlflow-artifacts/artifacts/${exp}/${hex(runs[1])}/artifacts/model/MLmodel`);
  expect(put === 200, `uploading MLmodel: ${put} ${putText}`);
  await visit(page, `/${p}/models/clf/versions/2`, '#version-files a:has-text("MLmodel")');
  expect((await page.textContent('#version-files #files-dir')).includes('/artifacts/model'), 'files start at the model');

  // The admin names the member a reviewer on the model page (the member sees no such form), and sets the
  // project's policy in its settings, where the audit trail shows what happened and that its chain holds.
  expect(await page.locator('#reviewers-form').count() === 0, 'only admins name reviewers');
  await visit(admin, `/${p}/models/clf`, '#reviewers-form');
  await admin.fill('#model-reviewers', mem.name);
  await admin.click('#save-reviewers');
  await admin.waitForSelector(`#review-rule:has-text("and ${mem.name}")`);
  await visit(admin, `/${p}/settings`, '#registry-policy');
  expect((await admin.textContent('#audit-chain')).includes('holds'), 'the chain holds');
  await admin.waitForSelector('#audit-trail td code:has-text("alias.set")');
  await admin.fill('#policy-protected', 'production, champion, staging');
  await admin.fill('#policy-approvals', '2');
  await admin.click('#policy-save');
  await admin.waitForFunction(() => document.querySelector('#policy-protected')?.value === 'production, champion, staging');
  await admin.reload();
  await admin.waitForSelector('body[data-hydrated]');
  expect(await admin.inputValue('#policy-approvals') === '2', 'the policy is saved');
  const pol = await ok(page, 'GET', `/api/v1/projects/${p}/registry/policy`);
  expect(pol.required_approvals === 2 && pol.protected_aliases.includes('staging'), `policy: ${JSON.stringify(pol)}`);
  await visit(page, `/${p}/settings`, '#registry-policy');
  expect(await page.locator('#policy-save').isDisabled(), 'a member reads the policy but cannot change it');

  // Other states, by URL: cancelled and superseded requests, a model without versions, a version whose run
  // was deleted, a rejected request, and a project without models.
  const gone = await ok(page, 'POST', `/api/v1/projects/${p}/models/clf/promotions`, { version: 1, alias: 'staging', reason: 'a' }, 201);
  await ok(page, 'POST', `/api/v1/reviews/${gone.id}/cancel`, {});
  await visit(page, `/reviews/${gone.id}`, '#request-state:has-text("cancelled")');
  const old = await ok(page, 'POST', `/api/v1/projects/${p}/models/clf/promotions`, { version: 1, alias: 'staging', reason: 'b' }, 201);
  await ok(page, 'POST', `/api/v1/projects/${p}/models/clf/promotions`, { version: 2, alias: 'staging', reason: 'c' }, 201);
  await visit(admin, `/reviews/${old.id}`, '#request-state:has-text("superseded")');
  expect(await admin.locator('#approve-button').count() === 0, 'a superseded request cannot be approved');
  // (A new model lands beside its first version's run; deleting that version leaves it empty, in this project.)
  await ok(page, 'POST', '/api/2.0/mlflow/registered-models/create', { name: 'bare' });
  await ok(page, 'POST', '/api/2.0/mlflow/model-versions/create', { name: 'bare', source: `runs:/${hex(runs[1])}/model`, run_id: hex(runs[1]) });
  await ok(page, 'DELETE', '/api/2.0/mlflow/model-versions/delete', { name: 'bare', version: '1' });
  await visit(page, `/${p}/models/bare`, '#no-versions');
  await ok(admin, 'DELETE', `/api/v1/projects/${p}/runs/${runs[0]}`, undefined, 204);
  await visit(page, `/${p}/models/clf/versions/1`, '#lineage:has-text("The source run is gone")');
  const other = await ok(page, 'POST', `/api/v1/projects/${p}/models/clf/promotions`, { version: 1, alias: 'champion', reason: 'try' }, 201);
  await ok(admin, 'POST', `/api/v1/reviews/${other.id}/reject`, { body: 'no' });
  await visit(page, `/reviews/${other.id}`, '#request-state:has-text("rejected")');
  const empty = unique('empty');
  await createProject(admin, empty);
  await visit(admin, `/${alice.name}/${empty}/models`, '.empty');
});
