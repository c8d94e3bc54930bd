// Offline check of deploy/k8s (run by deploy/k8s/validate.sh). Two layers:
// 1. Schema: every document is validated against Kubernetes' OpenAPI schema for its apiVersion and kind, as compiled
//    by kubernetes-models 5.1.0 (Kubernetes 1.3x): types, required fields, enums, formats. Unknown field names are
//    NOT reported by this layer (as kubeconform without -strict); layer 2 names the fields we rely on.
// 2. FeedbackHub's rules: every Deployment and Job container has resource requests and limits, runs as non-root
//    without privilege escalation and with a read-only root filesystem, takes secrets only from the Secret as files,
//    pins an image tag (no :latest); every Deployment has readiness, liveness and startup probes on a declared port,
//    a PodDisruptionBudget and a HorizontalPodAutoscaler that select or target it; every ConfigMap and Secret a pod
//    names exists; the worker gets RabbitMq__QuorumQueues=true.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const dir = process.argv[2];
const problems = [];
const docs = [];
for (const file of readdirSync(dir).filter(f => f.endsWith(".yaml") && f !== "kustomization.yaml").sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
    if (doc.errors.length) { problems.push(`${file}: YAML: ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (obj) docs.push({ file, obj });
  }
}

// Layer 1: the schema of each apiVersion/kind.
for (const { file, obj } of docs) {
  const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
  if (!obj.apiVersion || !obj.kind) { problems.push(`${file}: a document without apiVersion or kind`); continue; }
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  let Model;
  try { Model = (await import(path))[obj.kind]; } catch { problems.push(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`); continue; }
  try { new Model(obj).validate(); } catch (e) { problems.push(`${where}: schema: ${e.message}`); }
}

// Layer 2: FeedbackHub's rules.
const byKind = kind => docs.filter(d => d.obj.kind === kind);
const names = kind => new Set(byKind(kind).map(d => d.obj.metadata.name));
const configMaps = names("ConfigMap"), secrets = names("Secret");
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

for (const { file, obj } of [...byKind("Deployment"), ...byKind("Job")]) {
  const where = `${file}: ${obj.kind}/${obj.metadata.name}`;
  const pod = obj.spec.template.spec;
  if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot is not true`);
  if (pod.automountServiceAccountToken !== false) problems.push(`${where}: automountServiceAccountToken is not false (no API access needed)`);
  for (const v of pod.volumes ?? [])
    if (v.secret && !secrets.has(v.secret.secretName)) problems.push(`${where}: volume ${v.name} names a missing Secret ${v.secret.secretName}`);
  for (const c of pod.containers) {
    const at = `${where} container ${c.name}`;
    if (!/:[\w][\w.-]*$/.test(c.image) || c.image.endsWith(":latest")) problems.push(`${at}: image ${c.image} has no pinned tag`);
    for (const r of ["cpu", "memory"]) if (!c.resources?.requests?.[r]) problems.push(`${at}: no resources.requests.${r}`);
    if (!c.resources?.limits?.memory) problems.push(`${at}: no resources.limits.memory`);
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${at}: capabilities do not drop ALL`);
    for (const e of c.env ?? [])
      if (e.valueFrom?.secretKeyRef) problems.push(`${at}: env ${e.name} comes from a Secret; mount secrets as files instead`);
    for (const f of c.envFrom ?? []) {
      if (f.secretRef) problems.push(`${at}: envFrom a Secret; mount secrets as files instead`);
      if (f.configMapRef && !configMaps.has(f.configMapRef.name)) problems.push(`${at}: envFrom names a missing ConfigMap ${f.configMapRef.name}`);
    }
    const mounts = c.volumeMounts ?? [];
    if (!mounts.some(m => m.mountPath === "/run/secrets/feedbackhub" && m.readOnly === true))
      problems.push(`${at}: the Secret is not mounted read-only at /run/secrets/feedbackhub`);
    if (obj.kind === "Deployment") {
      const ports = new Set((c.ports ?? []).flatMap(p => [p.name, p.containerPort]));
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const p = c[probe];
        if (!p?.httpGet) { problems.push(`${at}: no ${probe} (httpGet)`); continue; }
        if (!ports.has(p.httpGet.port)) problems.push(`${at}: ${probe} port ${p.httpGet.port} is not a declared container port`);
      }
      if (c.livenessProbe?.httpGet?.path !== "/health/live") problems.push(`${at}: liveness must be /health/live (never the database)`);
    }
  }
  if (obj.kind === "Deployment") {
    const labels = obj.spec.template.metadata.labels;
    if (!matches(obj.spec.selector.matchLabels, labels)) problems.push(`${where}: selector does not match the pod labels`);
    if (!byKind("PodDisruptionBudget").some(d => matches(d.obj.spec.selector.matchLabels, labels)))
      problems.push(`${where}: no PodDisruptionBudget selects its pods`);
    if (!byKind("HorizontalPodAutoscaler").some(d => d.obj.spec.scaleTargetRef.kind === "Deployment" && d.obj.spec.scaleTargetRef.name === obj.metadata.name))
      problems.push(`${where}: no HorizontalPodAutoscaler targets it`);
  }
}
const quorum = byKind("ConfigMap").some(d => d.obj.data?.RabbitMq__QuorumQueues === "true");
if (!quorum) problems.push("no ConfigMap sets RabbitMq__QuorumQueues=true (the RabbitMQ cluster needs quorum queues)");
for (const { file, obj } of byKind("Service"))
  if (!byKind("Deployment").some(d => matches(obj.spec.selector, d.obj.spec.template.metadata.labels)))
    problems.push(`${file}: Service/${obj.metadata.name} selects no Deployment's pods`);

for (const p of problems) console.error(`  ${p}`);
console.log(`${docs.length} documents checked (${[...new Set(docs.map(d => d.obj.kind))].sort().join(", ")}): ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
