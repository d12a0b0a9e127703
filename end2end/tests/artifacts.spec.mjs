import { test, expect, open, submitRun, waitForRun } from '../support.mjs';

// The Artifacts tab and a file's page, opened from their links and reloaded: search by name and type, each
// preview (table, Markdown without raw HTML, a sandboxed HTML report whose script cannot read Myelin's cookies
// or DOM, a PDF drawn by pdf.js in the same sandbox, an image, highlighted text, an MLflow model's card, a Parquet file's schema and rows, a binary that only downloads), a folder's listing
// and its zip. (The guard fails the test on any page or console error.)

const JOB = `kind: component\nrun:\n  kind: job\n  container: {image: 'busybox:1.36', command: [sh, -c, 'echo done']}\n`;
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const REPORT = `<!doctype html><html><body><p id="out">not run</p><script>
const r = [];
try { r.push('cookie:' + (document.cookie === '' ? 'empty' : 'READ ' + document.cookie)); } catch (e) { r.push('cookie:blocked'); }
try { r.push('parent:' + parent.document.title); } catch (e) { r.push('parent:blocked'); }
try { localStorage.setItem('x', '1'); r.push('storage:open'); } catch (e) { r.push('storage:blocked'); }
document.getElementById('out').textContent = r.join(' ');
</script></body></html>`;
// A Parquet file of 10 rows (epoch INT32, score DOUBLE), gzip-compressed (backend/tests/api/artifacts.rs).
const PARQUET = 'UEFSMRUEFVAVXEwVFBUAEgAAH4sIAAAAAAAA/2NgYGBgBGImIGYGYhYgZgViNiBmB2IOIOYEYgACee+NKAAAABUAFRQVPCwVFBUQFQYVBgAAH4sIAAAAAAAA/2NhFTAKKZvBwMAAANaeyHoKAAAAFQQVoAEVckwVFBUAEgAAH4sIAAAAAAAA/03FIRYAIAhEwX1eTO6fPILRaCAQCAR+YMpI09n95cefnYOTZd2yAuQmSQtQAAAAFQAVIBVGLBUUFRAVBhUGAAAfiwgAAAAAAAD/Y2JgYBBhZGEVMAopmwFkAwDVkck8EAAAABkSAhkYBAAAAAAZGAQJAAAAFQIZFgAAGRICGRgIAAAAAAAAAAAZGAgAAAAAAAACQBUCGRYAKSYAFBkWAAAZHBaAARVeFgAAABkcFu4CFWgWAAAAFQIZPEgGc2NvcmVzFQQAFQIlABgFZXBvY2gAFQolAhgFc2NvcmUAFhQZHBksJgAcFQIZNQAGEBkYBWVwb2NoFQQWFBaiARbWASaAASYIHBgECQAAABgEAAAAABYAKAQJAAAAGAQAAAAAEREAGSwVBBUAFQIAFQAVEBUCAAAW0AQVFhbWAxUuACYAHBUKGTUABhAZGAVzY29yZRUEFhQWgAIW+AEm7gIm3gEcNgAoCAAAAAAAAAJAGAgAAAAAAAAAABERFgAAGSwVBBUAFQIAFQAVEBUCADw5JgAUAAAW5gQVFhaEBBVMABaiAxYUJggWzgMUAAAoGXBhcnF1ZXQtcnMgdmVyc2lvbiA2MC4xLjAZLBwAACwAAAAZAQAAUEFSMQ==';
const MLMODEL = `artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    sklearn_version: 1.5.0\nmlflow_version: 2.16.0\nsignature:\n  inputs: '[{"type": "double", "name": "x"}]'\n  outputs: '[{"type": "long"}]'\n`;

// A one-page PDF: a line of text over a black bar, with its cross-reference table where it says.
function pdf() {
  const content = '0 0 0 rg 20 20 260 24 re f BT /F1 20 Tf 20 90 Td (Myelin PDF preview) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 140] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const at = objects.map((o, i) => { const here = out.length; out += `${i + 1} 0 obj\n${o}\nendobj\n`; return here; });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += at.map(o => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  return out + `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
}

function csv() {
  let s = 'epoch,loss\n';
  for (let i = 0; i < 300; i++) s += `${i},${(1 / (i + 1)).toFixed(4)}\n`;
  return s;
}

test('a project\'s artifacts are searched, previewed safely and downloaded', async ({ alice, project }) => {
  const page = alice.page;
  const p = project.path;
  const run = await submitRun(page, p, JOB);
  await waitForRun(page, p, run, ['succeeded']);
  const files = {
    'artifacts/data/metrics.csv': csv(),
    'artifacts/card.md': '# Model card\n\nTrained on **clean** data.\n\n<img src=x onerror="document.title=\'owned\'">\n',
    'artifacts/report.html': REPORT,
    'artifacts/paper.pdf': pdf(),
    'artifacts/config.yaml': 'lr: 0.001 # tuned\nlayers: [64, 32]\nname: "resnet"\n',
    'artifacts/model/MLmodel': MLMODEL,
    'artifacts/model/model.pkl': '\u0000\u0001\u0002binary',
  };
  for (const [path, body] of Object.entries(files)) {
    const status = await page.evaluate(async ([u, body]) => (await fetch(u, { method: 'PUT', body })).status,
      [`/api/v1/projects/${p}/runs/${run}/artifacts/${path}`, body]);
    expect(status === 201, `upload of ${path} answered ${status}`);
  }
  const png = await page.evaluate(async ([u, b64]) => (await fetch(u, { method: 'PUT', body: Uint8Array.from(atob(b64), c => c.charCodeAt(0)) })).status,
    [`/api/v1/projects/${p}/runs/${run}/artifacts/artifacts/plot.png`, PNG]);
  expect(png === 201, `png upload answered ${png}`);

  // The tab, from its link and reloaded: every file, newest first; search by name and by type.
  await open(page, `/${p}/artifacts`);
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  expect(await page.locator('#artifacts tbody tr').count() === 8, 'eight files listed');
  await page.fill('#artifact-search input[name=q]', 'METRICS');
  await page.click('#artifact-search button');
  await page.waitForURL(u => u.search.includes('q=METRICS'));
  await page.waitForSelector('#artifacts tbody tr:has-text("metrics.csv")');
  expect(await page.locator('#artifacts tbody tr').count() === 1, 'the search finds one file');
  await open(page, `/${p}/artifacts?kind=image`);
  await page.waitForSelector('#artifacts tbody tr:has-text("plot.png")');
  expect(await page.locator('#artifacts tbody tr').count() === 1, 'one image');
  await open(page, `/${p}/artifacts?q=nothing-like-it`);
  await page.waitForSelector('#artifacts-none');

  // A table: the first rows, from a range read.
  await open(page, `/${p}/artifacts?q=metrics`);
  await page.click('#artifacts a:has-text("metrics.csv")');
  await page.waitForSelector('#preview-table');
  expect(await page.locator('#preview-table tbody tr').count() === 100, 'a hundred rows');
  expect((await page.textContent('#preview-table thead')).includes('loss'), 'the header row');
  await page.waitForSelector('#preview-truncated');
  const sha = (await page.textContent('#artifact-sha')).trim();
  expect(/^[0-9a-f]{64}$/.test(sha), `a sha256 digest: ${sha}`);
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#preview-table');

  const fileUrl = path => `/${p}/artifacts/${run}/${path}`;
  // Markdown: rendered, raw HTML shown as text (no image, no handler).
  await open(page, fileUrl('artifacts/card.md'));
  await page.waitForSelector('#preview-markdown h1:has-text("Model card")');
  expect(await page.locator('#preview-markdown img').count() === 0, 'raw HTML is not rendered');
  expect(await page.locator('#preview-markdown strong').count() === 1, 'markdown is');

  // HTML: in a sandbox; its script runs, but cannot read the cookies, the page or storage.
  await open(page, fileUrl('artifacts/report.html'));
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  const frame = page.frameLocator('#preview-frame');
  await frame.locator('#out:not(:has-text("not run"))').waitFor();
  const out = await frame.locator('#out').textContent();
  expect(out === 'cookie:blocked parent:blocked storage:blocked', `the report's script saw: ${out}`);
  expect(!(await page.title()).includes('owned'), 'the page title is untouched');

  // PDF: drawn by pdf.js inside the same kind of sandbox (a browser shows no PDF in a sandboxed frame itself).
  await open(page, fileUrl('artifacts/paper.pdf'));
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  const pdfFrame = page.frameLocator('#preview-frame');
  await pdfFrame.locator('body[data-pages="1"]').waitFor();
  const inked = await pdfFrame.locator('canvas[data-page="1"]').evaluate(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 64 && d[i + 3] > 0) dark++;
    return dark / (d.length / 4);
  });
  expect(inked > 0.05 && inked < 0.5, `the page is drawn (dark share ${inked})`);
  const policy = await page.evaluate(async u => (await fetch(u)).headers.get('content-security-policy'),
    await page.getAttribute('#preview-frame', 'src'));
  expect(policy.startsWith('sandbox allow-scripts;') && !policy.includes('allow-same-origin'),
    `the PDF page is sandboxed: ${policy}`);

  // An image, highlighted text, a binary.
  await open(page, fileUrl('artifacts/plot.png'));
  await page.waitForFunction(() => document.querySelector('#preview-image')?.naturalWidth === 1);
  await open(page, fileUrl('artifacts/config.yaml'));
  await page.waitForSelector('#preview-text .tok-key:has-text("lr")');
  await page.waitForSelector('#preview-text .tok-com:has-text("# tuned")');
  expect(await page.locator('#preview-text .ln').count() === 3, 'numbered lines');
  await open(page, fileUrl('artifacts/model/model.pkl'));
  await page.waitForSelector('#preview-none');
  const dl = await page.getAttribute('#artifact-download', 'href');
  const disposition = await page.evaluate(async u => (await fetch(u)).headers.get('content-disposition'), dl);
  expect(disposition.startsWith('attachment'), `downloads are attachments: ${disposition}`);

  // A folder holding an MLflow model: its card, its files, its zip.
  await open(page, fileUrl('artifacts/model'));
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#model-flavors:has-text("sklearn 1.5.0")');
  await page.waitForSelector('#model-inputs:has-text("x: double")');
  expect(await page.locator('#folder tr[data-file]').count() === 2, 'two files in the model folder');
  const zip = await page.getAttribute('#folder-zip', 'href');
  const [type, magic] = await page.evaluate(async u => {
    const r = await fetch(u);
    const b = new Uint8Array(await r.arrayBuffer());
    return [r.headers.get('content-type'), String.fromCharCode(b[0], b[1])];
  }, zip);
  expect(type === 'application/zip' && magic === 'PK', `the folder downloads as a zip: ${type} ${magic}`);
  // Up through the crumbs to the run's artifacts folder.
  await page.click('#artifact-crumbs a[data-path="artifacts"]');
  await page.waitForSelector('#folder tr.dir:has-text("data/")');

  // A Parquet file, opened from its link and reloaded: its schema as the header, its rows, the counts.
  const pq = await page.evaluate(async ([u, b64]) => (await fetch(u, { method: 'PUT', body: Uint8Array.from(atob(b64), c => c.charCodeAt(0)) })).status,
    [`/api/v1/projects/${p}/runs/${run}/artifacts/artifacts/scores.parquet`, PARQUET]);
  expect(pq === 201, `parquet upload answered ${pq}`);
  await open(page, fileUrl('artifacts/scores.parquet'));
  await page.reload();
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('#preview-table');
  const head = await page.textContent('#preview-table thead');
  expect(head.includes('epoch: INT32') && head.includes('score: DOUBLE'), `the schema as the header: ${head}`);
  expect(await page.locator('#preview-table tbody tr').count() === 10, 'its ten rows');
  expect((await page.textContent('#preview-note')).includes('10 rows'), 'the row count');

  // A path that is not there is a clear not-found page.
  await open(page, fileUrl('artifacts/missing.txt'));
  await page.waitForSelector('.not-found');
});
