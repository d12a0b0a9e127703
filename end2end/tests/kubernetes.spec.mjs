import { test, expect, open, shot, createProject, unique, k8sURL as k8s } from '../support.mjs';

// A second server with the Kubernetes executor (scripts/e2e.sh starts it on the test control plane, with one
// tainted 8-GPU node and no kubelet): the pre-flight refusal, a forced run's diagnosis, the cluster page.
// Each journey has its own user and project there.
test.skip(!k8s, 'no Kubernetes server (MYELIN_E2E_K8S_URL)');

/// A user of the Kubernetes server with a project: `{ dave, path }`.
async function onTheCluster(newUser) {
  const { name, page: dave } = await newUser('dave', k8s);
  const project = unique('gpu');
  await createProject(dave, project);
  return { dave, path: `${name}/${project}` };
}

/// Submits the GPU job with `force` (past the pre-flight) from the page; returns its uuid.
async function forceGpuRun(dave, path) {
  return await dave.evaluate(async ([p, content]) => {
    const r = await fetch(`/api/v1/projects/${p}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content, force: true }) });
    if (r.status !== 201) throw new Error(`forced submit answered ${r.status}`);
    return (await r.json()).uuid;
  }, [path, gpuJob]);
}
const gpuJob = `kind: component
name: gpu-train
run:
  kind: job
  container:
    image: pytorch/pytorch:2.5
    command: [python, train.py]
    resources: {limits: {nvidia.com/gpu: 2}}
`;

test("kubernetes: a GPU run without a toleration is refused before queueing, then forced, and says why it waits", async ({ newUser }) => {
  const { dave, path } = await onTheCluster(newUser);
  await open(dave, `/${path}/runs`, k8s);
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

test("kubernetes: the editor shows the cluster's pre-flight warning beside the lint", async ({ newUser }) => {
  const { dave, path } = await onTheCluster(newUser);
  await open(dave, `/${path}/editor`, k8s);
  await dave.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  await dave.click('#editor .cm-content');
  await dave.keyboard.press('Control+A');
  await dave.keyboard.insertText(gpuJob);
  await dave.waitForSelector('#editor-cluster[data-code="untolerated_taint"]:has-text("add a toleration")', { timeout: 15000 });
});

test("kubernetes: the cluster page shows the GPU node and the queue with the reason", async ({ newUser }) => {
  const { dave, path } = await onTheCluster(newUser);
  const id = await forceGpuRun(dave, path);
  // The scheduler speaks first (the page shows the queue as it is when opened).
  await dave.waitForFunction(async u => (await (await fetch(u)).json()).diagnosis?.code === 'untolerated_taint',
    `/api/v1/projects/${path}/runs/${id}`, { timeout: 30000, polling: 500 });
  await open(dave, '/cluster', k8s);
  await dave.waitForSelector(`#cluster-queue tr:has(a[href$="${id}"]):has-text("untolerated_taint")`, { timeout: 30000 });
  await dave.waitForSelector('#cluster-nodes tr:has-text("0 / 8")');
  await dave.waitForSelector('#cluster-queue tr:has-text("untolerated_taint")');
  await shot(dave, '32-k8s-cluster');
});

test("kubernetes: the editor checks every op of a pipeline against the cluster, with the params form's values", async ({ newUser }) => {
  const { dave, path } = await onTheCluster(newUser);
  await open(dave, `/${path}/editor`, k8s);
  await dave.waitForSelector('#editor .cm-editor', { timeout: 15000 });
  const type = async text => {
    await dave.click('#editor .cm-content');
    await dave.keyboard.press('Control+A');
    await dave.keyboard.insertText(text);
  };
  await type(`kind: component
name: flow
run:
  kind: dag
  operations:
  - name: prepare
    component: {run: {kind: job, environment: {tolerations: [{key: nvidia.com/gpu, operator: Exists}]}, container: {image: 'busybox:1.36', command: [echo, ok]}}}
  - name: train
    dependencies: [prepare]
    component: {run: {kind: job, container: {image: 'pytorch/pytorch:2.5', command: [python, train.py], resources: {limits: {nvidia.com/gpu: 2}}}}}
`);
  await dave.waitForSelector('#editor-cluster[data-code="untolerated_taint"]:has-text("op `train`: 1 nvidia.com/gpu node exists")', { timeout: 15000 });
  // A job sized by its params: fine as written, refused once the form asks for more GPUs than a node has.
  await type(`kind: component
name: sized
inputs: [{name: gpus, type: int, value: 1, isOptional: true}]
run:
  kind: job
  environment: {tolerations: [{key: nvidia.com/gpu, operator: Exists}]}
  container: {image: 'pytorch/pytorch:2.5', command: [python, train.py], resources: {limits: {nvidia.com/gpu: '{{ gpus }}'}}}
`);
  await dave.waitForSelector('#editor-params-form input[name="param-gpus"]', { timeout: 15000 });
  await dave.waitForFunction(() => !document.querySelector('#editor-cluster'), null, { timeout: 15000 });
  await new Promise(r => setTimeout(r, 1500));
  expect(await dave.locator('#editor-cluster').count() === 0, 'one GPU fits: nothing to say');
  await dave.fill('#editor-params-form input[name="param-gpus"]', '16');
  await dave.waitForSelector('#editor-cluster[data-code="insufficient_gpu"]', { timeout: 15000 });
});
