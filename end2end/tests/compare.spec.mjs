import { test, expect, open, session, waitForRun } from '../support.mjs';

// Comparing runs: tick runs in the runs table, compare them; one line per run with a readout of every run's
// value; equal params hidden until asked; the best value marked; a drag zooms in. The link, opened directly in a
// new browser session and reloaded, shows the same page.

// A run's line (the grid's lines are 1 px wide).
const LINE = 'polyline[stroke-width="2"]';
const TRAIN = `kind: component\nname: train\ninputs:\n- {name: lr, type: float}\n- {name: batch, type: int}\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: ['true']}\n`;

async function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    return [r.status, await r.text()];
  }, [method, path, body]);
}

test('three runs compared: lines, readout, diff-only params, best value, zoom, and the link opened anew', async ({ browser, alice, project }) => {
  const page = alice.page;
  const p = project.path;
  const ids = [];
  for (const [i, lr] of [0.1, 0.01, 0.001].entries()) {
    const [status, body] = await call(page, 'POST', `/api/v1/projects/${p}/runs`, { content: TRAIN, params: { lr, batch: 32 }, name: `lr-${i}` });
    expect(status === 201, `submit: ${status} ${body}`);
    ids.push(JSON.parse(body).uuid);
  }
  for (const [i, id] of ids.entries()) {
    await waitForRun(page, p, id, ['succeeded']);
    const metrics = Array.from({ length: 50 }, (_, s) => ({ key: 'loss', value: 1 / (1 + s) + i * 0.1, timestamp: 1000 + s, step: s }));
    const [status] = await call(page, 'POST', `/api/v1/projects/${p}/runs/${id}/tracking`, { metrics });
    expect(status === 204, `metrics logged: ${status}`);
  }

  await open(page, `/${p}/runs`);
  for (const id of ids) await page.check(`#runs tr[data-run="${id}"] input.pick`);
  await page.click('#compare-selected');
  await page.waitForURL(u => u.pathname.endsWith('/compare') && u.searchParams.get('runs')?.split(',').length === 3);
  await page.waitForSelector('#compare-table');
  await page.check('#compare-metrics input[data-key="loss"]');
  await page.waitForURL(u => u.searchParams.get('metrics') === 'loss');
  const chart = '#compare-charts [data-key="loss"]';
  await page.waitForSelector(`${chart} svg`);
  expect(await page.locator(`${chart} ${LINE}`).count() === 3, 'one line per run');

  // The readout lists every run's value at the hovered x.
  const box = await page.locator(`${chart} .chart-svg`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.waitForSelector(`${chart} .chart-hover li[data-run-index="2"]`);
  expect(await page.locator(`${chart} .chart-hover li[data-run-index]`).count() === 3, 'three values in the readout');

  // Diff-only by default: lr differs, batch is hidden until asked.
  expect(await page.locator('#compare-table tr[data-key="params.lr"]').count() === 1, 'lr shown');
  expect(await page.locator('#compare-table tr[data-key="params.batch"]').count() === 0, 'equal batch hidden');
  await page.check('#compare-all');
  await page.waitForSelector('#compare-table tr[data-key="params.batch"]');
  // The table and each chart save as files.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#compare-csv')]);
  expect(csv.suggestedFilename() === 'comparison.csv', `csv named ${csv.suggestedFilename()}`);
  const text = (await (await csv.createReadStream()).toArray()).join('');
  expect(text.startsWith('key,lr-0,lr-1,lr-2') && text.includes('params.lr,0.1,0.01,0.001'), `csv: ${text}`);
  const [svg] = await Promise.all([page.waitForEvent('download'), page.click(`${chart} .chart-svg-save`)]);
  const drawing = (await (await svg.createReadStream()).toArray()).join('');
  expect(svg.suggestedFilename() === 'loss.svg' && drawing.startsWith('<svg') && (drawing.match(/stroke-width="2"/g) || []).length === 3, 'the chart as SVG');
  // Lowest last loss is the first run's, marked.
  const best = page.locator('#compare-table tr[data-key="metrics.loss"] td.best');
  expect(await best.count() === 1, 'one best value');
  expect((await best.textContent()).startsWith('0.0'), `the best is the lowest loss: ${await best.textContent()}`);

  // Dragging across the chart zooms in (re-fetched for the step range). The downloads scrolled the page.
  await page.locator(`${chart} .chart-svg`).scrollIntoViewIfNeeded();
  const at = await page.locator(`${chart} .chart-svg`).boundingBox();
  await page.mouse.move(at.x + at.width * 0.3, at.y + at.height / 2);
  await page.mouse.down();
  await page.mouse.move(at.x + at.width * 0.7, at.y + at.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(u => u.searchParams.has('from') && u.searchParams.has('to'));
  await page.waitForSelector('#compare-zoom');
  const url = page.url();

  // The link, opened directly in a new session and reloaded, shows the same.
  const other = await session(browser, `${alice.name}-link`);
  await other.context().addCookies(await page.context().cookies());
  for (const visit of [() => open(other, url.replace(/^https?:\/\/[^/]+/, '')), async () => { await other.reload(); await other.waitForSelector('body[data-hydrated]'); }]) {
    await visit();
    await other.waitForSelector(`${chart} svg`);
    expect(await other.locator(`${chart} ${LINE}`).count() === 3, 'the same three lines');
    expect(await other.locator('#compare-table tr[data-key="params.batch"]').count() === 1, 'equal rows still shown');
    expect(await other.locator('#compare-zoom').count() === 1, 'still zoomed');
  }
  // Opened by its link, the page carries the lines without their points (the server drew them) and fetches them
  // once hydrated: then the readout lists every run's value.
  const ob = await other.locator(`${chart} .chart-svg`).boundingBox();
  let values = 0;
  for (let i = 0; i < 50 && values < 3; i++) {
    await other.mouse.move(ob.x + ob.width * (0.5 + (i % 2) / 10), ob.y + ob.height / 2);
    values = await other.locator(`${chart} .chart-hover li[data-run-index]`).count();
    if (values < 3) await other.waitForTimeout(100);
  }
  expect(values === 3, `the readout of a page opened by its link lists ${values} values, not 3`);
  await other.click('#compare-unzoom');
  await other.waitForURL(u => !u.searchParams.has('from'));

  // Group by a param every run shares: one mean line with its min-max band, named with its size.
  await other.selectOption('#compare-group', 'params.batch');
  await other.waitForURL(u => u.searchParams.get('group') === 'params.batch');
  await other.waitForSelector(`${chart} svg polygon`);
  expect(await other.locator(`${chart} ${LINE}`).count() === 1, 'one line for the group');
  expect((await other.locator(`${chart} .chart-groups li`).textContent()).includes('batch=32 (3 runs)'), 'the group named with its size');
  // Opened by its link while grouped (the page has no points yet): the same group, band and name.
  await open(other, other.url().replace(/^https?:\/\/[^/]+/, ''));
  await other.waitForSelector(`${chart} svg polygon`);
  expect((await other.locator(`${chart} .chart-groups li`).textContent()).includes('batch=32 (3 runs)'), 'the group still named');
  await other.selectOption('#compare-spread', 'std');
  await other.waitForURL(u => u.searchParams.get('spread') === 'std');
  await other.selectOption('#compare-group', '');
  await other.waitForURL(u => !u.searchParams.has('group'));
  await other.waitForFunction(sel => document.querySelectorAll(sel).length === 3, `${chart} ${LINE}`);

  // The scatter draws a dot per run; PNG export draws the chart on a canvas.
  expect(await other.locator('#compare-scatter circle').count() === 3, 'three dots');
  const [png] = await Promise.all([other.waitForEvent('download'), other.click(`${chart} .chart-png-save`)]);
  const bytes = Buffer.concat(await (await png.createReadStream()).toArray());
  expect(png.suggestedFilename() === 'loss.png' && bytes.subarray(1, 4).toString() === 'PNG' && bytes.length > 2000, `a PNG: ${bytes.length} bytes`);

  // The scatter and the parallel coordinates save as files too.
  const [scatterSvg] = await Promise.all([other.waitForEvent('download'), other.click('#scatter-svg')]);
  const dots = (await (await scatterSvg.createReadStream()).toArray()).join('');
  expect(dots.startsWith('<svg') && (dots.match(/<circle/g) || []).length === 3, 'the scatter as SVG');
  const [pcPng] = await Promise.all([other.waitForEvent('download'), other.click('#parallel-png')]);
  const pcBytes = Buffer.concat(await (await pcPng.createReadStream()).toArray());
  expect(pcPng.suggestedFilename() === 'parallel-coordinates.png' && pcBytes.subarray(1, 4).toString() === 'PNG', 'the parallel coordinates as PNG');

  // Brushing the top of the lr axis keeps lr=0.1 only, in every view.
  const pc = other.locator('#compare-parallel svg.parallel');
  await pc.scrollIntoViewIfNeeded();
  const pb = await pc.boundingBox();
  const lrAxis = pb.x + (70 / 900) * pb.width;
  await other.mouse.move(lrAxis, pb.y + (20 / 320) * pb.height);
  await other.mouse.down();
  await other.mouse.move(lrAxis, pb.y + (80 / 320) * pb.height, { steps: 4 });
  await other.mouse.up();
  await other.waitForURL(u => (u.searchParams.get('brush') || '').startsWith('params.lr:'));
  await other.waitForFunction(sel => document.querySelectorAll(sel).length === 1, `${chart} ${LINE}`);
  expect(await other.locator('#compare-table thead th[data-run]').count() === 1, 'the table keeps the brushed run');
  expect(await other.locator('#compare-parallel path.kept').count() === 1 && await other.locator('#compare-parallel path.faded').count() === 2, 'two runs faded');
  expect(await other.locator('#compare-filtered').count() === 1, 'the table says runs are filtered');

  // A row per run, then why the baseline and lr-1 differ: lr, and the cache key's param.
  await other.check('#compare-transpose');
  await other.waitForSelector('#compare-table.transposed tr[data-run-row]');
  await other.waitForSelector('#why-table tr[data-key="lr"].differs');
  expect((await other.locator('#why-cache').textContent()).includes('param lr'), 'the cache key inputs differ in lr');

  // All of it in the link: reopened, the same brush, orientation and filter.
  const brushed = other.url().replace(/^https?:\/\/[^/]+/, '');
  await open(other, brushed);
  await other.waitForSelector(`${chart} svg`);
  expect(await other.locator(`${chart} ${LINE}`).count() === 1, 'still brushed');
  expect(await other.locator('#compare-table.transposed tr[data-run-row]').count() === 1, 'still transposed, one run');
  await other.click('#compare-unbrush');
  await other.waitForURL(u => !u.searchParams.has('brush'));
  await other.waitForFunction(sel => document.querySelectorAll(sel).length === 3, `${chart} ${LINE}`);
});

test('past 100 runs the table shows the first 100 and the rest on asking; the charts and the CSV have every run', async ({ alice: { page }, project }) => {
  const p = project.path;
  const [, exp] = await call(page, 'GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${p}`);
  const experiment = JSON.parse(exp).experiment.experiment_id;
  const ids = await page.evaluate(async experiment => {
    const post = async (path, body) => (await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
    const ids = [];
    for (let r = 0; r < 104; r++) {
      const run = (await post('/api/2.0/mlflow/runs/create', { experiment_id: experiment, run_name: `many-${r}` })).run.info.run_id;
      await post('/api/2.0/mlflow/runs/log-batch', { run_id: run, params: [{ key: 'seed', value: String(r) }], metrics: [0, 1].map(step => ({ key: 'acc', value: r / 100 + step, timestamp: 1000 + step, step })) });
      ids.push(run);
    }
    return ids;
  }, experiment);
  const path = `/${p}/compare?runs=${ids.join(',')}&metrics=acc`;
  await open(page, path);
  await page.waitForSelector('#compare-first');
  expect(await page.locator('#compare-table thead th[data-run]').count() === 100, 'the first 100 runs in the table');
  expect(await page.locator(`#compare-charts ${LINE}`).count() === 104, 'every run in the chart');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#compare-csv')]);
  const header = (await (await csv.createReadStream()).toArray()).join('').split('\n')[0];
  expect(header.split(',').length === 105, `every run in the CSV: ${header.split(',').length - 1} columns`);
  await page.click('#compare-wide');
  await page.waitForURL(u => u.searchParams.get('wide') === '1');
  await page.waitForFunction(() => document.querySelectorAll('#compare-table thead th[data-run]').length === 104);
  expect(await page.locator('#compare-first').count() === 0, 'no note once every run is shown');
  await open(page, page.url().replace(/^https?:\/\/[^/]+/, ''));
  expect(await page.locator('#compare-table thead th[data-run]').count() === 104, 'the link keeps every run in the table');
});
