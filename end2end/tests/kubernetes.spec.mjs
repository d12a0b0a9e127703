import { test, expect, open, shot, signUp, logIn, session, closeSession, createProject, run, password, baseURL as base, k8sURL as k8s } from '../support.mjs';

test.describe.configure({ mode: 'serial' });

// A second server with the Kubernetes executor (scripts/e2e.sh starts it on the test control plane, with one
// tainted 8-GPU node and no kubelet): the pre-flight refusal, a forced run's diagnosis, the cluster page.
test.skip(!k8s, 'no Kubernetes server (MYELIN_E2E_K8S_URL)');
let dave;
test.beforeAll(async ({ browser }) => { if (k8s) dave = await session(browser, 'dave'); });
test.afterAll(async () => { if (dave) await closeSession(dave); });
const gpuJob = `kind: component
name: gpu-train
run:
  kind: job
  container:
    image: pytorch/pytorch:2.5
    command: [python, train.py]
    resources: {limits: {nvidia.com/gpu: 2}}
`;

test("kubernetes: a GPU run without a toleration is refused before queueing, then forced, and says why it waits", async () => {
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

test("kubernetes: the editor shows the cluster's pre-flight warning beside the lint", async () => {
  await open(dave, `/dave-${run}/gpu/editor`, k8s);
  await dave.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  await dave.click('#editor .cm-content');
  await dave.keyboard.press('Control+A');
  await dave.keyboard.insertText(gpuJob);
  await dave.waitForSelector('#editor-cluster[data-code="untolerated_taint"]:has-text("add a toleration")', { timeout: 15000 });
});

test("kubernetes: the cluster page shows the GPU node and the queue with the reason", async () => {
  await open(dave, '/cluster', k8s);
  await dave.waitForSelector('#cluster-nodes tr:has-text("0 / 8")');
  await dave.waitForSelector('#cluster-queue tr:has-text("untolerated_taint")');
  await shot(dave, '32-k8s-cluster');
});
