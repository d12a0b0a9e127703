// The PDF preview. Myelin serves the page this runs in (backend/src/artifacts/pdf_view.rs) under
// `Content-Security-Policy: sandbox`, as every active artifact is: an opaque origin that cannot read Myelin's
// cookies or DOM and may reach nothing over the network. A browser will not show a PDF in such a frame itself,
// so pdf.js draws the pages into canvases here. The file's bytes are in the page (`#pdf-data`, base64): the frame
// cannot fetch them with the user's session. pdf.js' worker code runs on this page's thread (importing it sets
// `globalThis.pdfjsWorker`): no worker can be started from an opaque origin under this policy.
import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import 'pdfjs-dist/legacy/build/pdf.worker.mjs';

/// Pages drawn; the rest are one download away.
const MAX_PAGES = 50;

function bytes(base64) {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function show(status, pages) {
  const data = bytes(document.getElementById('pdf-data').textContent.trim());
  // No XFA forms, no embedded scripts: a preview draws the pages and nothing else.
  const pdf = await getDocument({ data, enableXfa: false, isEvalSupported: false, verbosity: VerbosityLevel.ERRORS }).promise;
  const shown = Math.min(pdf.numPages, MAX_PAGES);
  const ratio = window.devicePixelRatio || 1;
  for (let n = 1; n <= shown; n++) {
    const page = await pdf.getPage(n);
    const css = page.getViewport({ scale: 1.25 });
    const viewport = page.getViewport({ scale: 1.25 * ratio });
    const canvas = document.createElement('canvas');
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.style.width = `${Math.floor(css.width)}px`;
    canvas.dataset.page = String(n);
    pages.append(canvas);
    await page.render({ canvasContext: canvas.getContext('2d'), viewport }).promise;
    page.cleanup();
  }
  status.textContent = shown < pdf.numPages
    ? `The first ${shown} of ${pdf.numPages} pages: download the file for the rest.`
    : '';
  document.body.dataset.pages = String(shown);
}

const status = document.getElementById('status');
show(status, document.getElementById('pages')).catch((e) => {
  status.textContent = `This PDF could not be shown (${e?.message || e}); download it instead.`;
  document.body.dataset.failed = 'true';
});
