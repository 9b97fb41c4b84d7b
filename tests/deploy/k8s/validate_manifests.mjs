// deploy/k8s rendered and validated, as CI runs it (tests/deploy/k8s/CMakeLists.txt):
//
//   node tests/deploy/k8s/validate_manifests.mjs --source-dir . --bin-dir build/bin
//
// 1. `kubectl kustomize` renders the base and both overlays (cpu, gpu).
// 2. Every rendered document is validated strictly against the Kubernetes API's schemas
//    (strict_schema.mjs): wrong types, missing required fields and unknown fields fail.
// 3. Negative checks: copies of a rendered manifest with an unknown field, a wrong type, a
//    misspelt Rein flag and a learner count that disagrees with the config must each be
//    rejected, so the test fails if a check stops rejecting.
// 4. Rein's own checks (rein_checks.mjs): every --flag exists in the binary it is passed to
//    (their --helpfull), counts agree with the config (learner Job completions = learner.ranks),
//    ports, mounts and probes line up, `reinctl config check` accepts the config, and the gpu
//    overlay's config differs from the base's only where it should.
//
// Options: --kubectl PATH (default $KUBECTL or kubectl). $REIN_KUBECTL_EXTRA: more kubectl
// binaries (colon-separated, e.g. Debian's kubectl 1.20 with kustomize v2.0) that must render
// the same objects. Exit 0 when every check passed, 1 when one failed, 77 (skip) when kubectl
// or this folder's npm packages are missing. Scratch files go to a temporary folder, removed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const kSkip = 77;
const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const options = { kubectl: process.env.KUBECTL || "kubectl" };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s);
    const value = inline ?? argv[++i];
    if (name === "--source-dir") options.sourceDir = resolve(value);
    else if (name === "--bin-dir") options.binDir = resolve(value);
    else if (name === "--kubectl") options.kubectl = value;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  options.sourceDir ??= resolve(here, "../../..");
  options.binDir ??= join(options.sourceDir, "build/bin");
  return options;
}

function skip(reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(kSkip);
}

const options = parseArgs(process.argv.slice(2));
if (!existsSync(join(here, "node_modules/kubernetes-models/package.json"))) {
  skip(`npm packages missing in ${here} (scripts/setup.sh installs them: npm ci --ignore-scripts)`);
}
const kubectlVersion = spawnSync(options.kubectl, ["version", "--client"], { encoding: "utf8" });
if (kubectlVersion.error) skip(`no kubectl (${options.kubectl}): ${kubectlVersion.error.message}`);

const { parseAllDocuments, stringify } = await import("yaml");
const { validateStrictly } = await import("./strict_schema.mjs");
const checks = await import("./rein_checks.mjs");
const { checkCertificateNames } = await import("./tls_names.mjs");

const results = { passed: 0, failed: 0, skipped: 0 };
function report(name, errors) {
  if (errors.length === 0) {
    results.passed++;
    console.log(`ok    ${name}`);
  } else {
    results.failed++;
    console.log(`FAIL  ${name}`);
    for (const e of errors) console.log(`        ${e}`);
  }
}
// A negative check passes when `errors` holds one matching `expected`.
function reportRejected(name, errors, expected) {
  const hit = errors.some((e) => expected.test(e));
  report(name, hit ? [] : [`was not rejected as expected (${expected}); got: ${errors.join("; ") || "no error"}`]);
}

// kubectl kustomize DIR → plain objects, parsed as kubectl parses YAML (1.1: 0440 is octal).
function render(kubectl, dir) {
  const run = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (run.status !== 0) {
    throw new Error(`${kubectl} kustomize ${dir} failed (${run.status ?? run.signal}): ${run.stderr}`);
  }
  return parseYAML(run.stdout, `${kubectl} kustomize ${dir}`);
}

function parseYAML(text, what) {
  const docs = parseAllDocuments(text, { version: "1.1" });
  const problems = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (problems.length) throw new Error(`${what}: YAML errors: ${problems.join("; ")}`);
  return docs.map((d) => d.toJS()).filter((d) => d !== null);
}

// Objects keyed by kind/name, for comparing renders: kustomize's ConfigMap hash (its inputs
// differ between versions) and empty labels/annotations (kustomize v2.0 writes `{}` on a
// replaced ConfigMap) left out.
function normalised(docs) {
  const text = JSON.stringify(docs).replace(/rein-config-[a-z0-9]{10}/g, "rein-config");
  return new Map(JSON.parse(text).map((d) => {
    for (const key of ["labels", "annotations"]) {
      if (d.metadata?.[key] && Object.keys(d.metadata[key]).length === 0) delete d.metadata[key];
    }
    return [`${d.kind}/${d.metadata.name}`, JSON.stringify(d)];
  }));
}

const scratch = mkdtempSync(join(tmpdir(), "rein-k8s-test-"));
try {
  const k8s = join(options.sourceDir, "deploy/k8s");
  const targets = [
    { name: "base", dir: join(k8s, "base"), gpu: false, image: "rein/rein" },
    { name: "overlays/cpu", dir: join(k8s, "overlays/cpu"), gpu: false, image: "rein/rein" },
    { name: "overlays/gpu", dir: join(k8s, "overlays/gpu"), gpu: true, image: "rein/rein-cuda" },
  ];
  const rendered = {};
  for (const t of targets) {
    let docs;
    try {
      docs = render(options.kubectl, t.dir);
    } catch (e) {
      report(`${t.name}: renders`, [e.message]);
      continue;
    }
    rendered[t.name] = docs;
    report(`${t.name}: renders (${docs.length} objects)`, docs.length ? [] : ["no objects"]);
    for (const doc of docs) {
      report(`${t.name}: ${doc.kind}/${doc.metadata?.name} is valid (strict)`, await validateStrictly(doc));
    }
    for (const extra of (process.env.REIN_KUBECTL_EXTRA ?? "").split(":").filter(Boolean)) {
      let other;
      try {
        other = normalised(render(extra, t.dir));
      } catch (e) {
        report(`${t.name}: renders with ${extra}`, [e.message]);
        continue;
      }
      const mine = normalised(docs);
      const differ = [...new Set([...mine.keys(), ...other.keys()])].filter((k) => mine.get(k) !== other.get(k));
      report(`${t.name}: ${extra} renders the same objects`, differ.map((k) => `${k} differs`));
    }
  }

  // Negative checks, on copies of the cpu overlay's coordinator Deployment written to files.
  const cpu = rendered["overlays/cpu"];
  const coordinator = cpu?.find((d) => d.kind === "Deployment" && d.metadata.name === "rein-coordinator");
  if (!coordinator) {
    report("negative checks: the cpu overlay has Deployment rein-coordinator", ["not found"]);
  } else {
    const mutate = (file, change) => {
      const copy = structuredClone(coordinator);
      change(copy);
      writeFileSync(join(scratch, file), stringify(copy));
      return parseYAML(readFileSync(join(scratch, file), "utf8"), file);
    };
    const unknown = mutate("unknown-field.yaml", (d) => {
      d.spec.template.spec.containers[0].livenessProbe.exec.comand = ["reinctl"];
    });
    reportRejected("negative: an unknown field (livenessProbe.exec.comand) is rejected",
                   await validateStrictly(unknown[0]), /exec\/comand: unknown field/);
    const wrongType = mutate("wrong-type.yaml", (d) => { d.spec.replicas = "two"; });
    reportRejected("negative: a wrong type (replicas: \"two\") is rejected",
                   await validateStrictly(wrongType[0]), /\/spec\/replicas: type/);
    const badFlag = mutate("misspelt-flag.yaml", (d) => {
      d.spec.template.spec.containers[0].args.push("--run-dir=/tmp");
    });
    reportRejected("negative: a flag the binary does not have (--run-dir) is rejected",
                   checks.checkFlags(badFlag, options.binDir), /has no flag --run-dir/);
  }
  if (cpu) {
    const { config } = checks.experimentConfig(cpu);
    const wrongRanks = structuredClone(cpu);
    const job = wrongRanks.find((d) => d.kind === "Job");
    if (job) job.spec.completions += 1;
    reportRejected("negative: a learner Job whose completions != learner.ranks is rejected",
                   checks.checkCounts(wrongRanks, config), /completions \d+ != learner.ranks/);
    const leaky = structuredClone(cpu);
    const rollout = leaky.find((d) => d.kind === "StatefulSet" && d.metadata.name === "rein-rollout");
    const authVolume = rollout?.spec.template.spec.volumes.find((v) => v.secret?.secretName === "rein-auth");
    for (const item of authVolume?.secret.items ?? []) {
      if (item.key === "operator-verifier") item.key = "operator-token";
    }
    reportRejected("negative: a rollout pod given the operator token is rejected",
                   checks.checkRoleSecrets(leaky, config), /rein-rollout \(rein-rollout\): mounts operator-token/);
  }

  // Rein's own checks on every rendering.
  const configs = {};
  for (const t of targets) {
    const docs = rendered[t.name];
    if (!docs) continue;
    let text, config;
    try {
      ({ text, config } = checks.experimentConfig(docs));
    } catch (e) {
      report(`${t.name}: carries the experiment config`, [e.message]);
      continue;
    }
    configs[t.name] = config;
    const device = t.gpu ? "cuda" : "cpu";
    report(`${t.name}: model.device is ${device}`,
           config.model?.device === device ? [] : [`model.device is ${config.model?.device}`]);
    report(`${t.name}: reinctl config check accepts the config`,
           checks.checkConfigWithReinctl(text, options.binDir, join(scratch, `${t.name.replace("/", "-")}.yaml`)));
    report(`${t.name}: every --flag exists in its Rein binary`, checks.checkFlags(docs, options.binDir));
    report(`${t.name}: learner Job and replicas agree with the config`, checks.checkCounts(docs, config));
    report(`${t.name}: ports, probes, requests and addresses line up`, checks.checkWiring(docs, config));
    report(`${t.name}: the config's files are mounted where it says`, checks.checkMounts(docs, config));
    report(`${t.name}: each pod gets only its role's token`, checks.checkRoleSecrets(docs, config));
    report(`${t.name}: images and GPUs fit the overlay`, checks.checkAccelerators(docs, t));
    if (t.gpu) {
      const learner = docs.find((d) => d.kind === "Job")?.spec.template.spec.containers[0];
      const nccl = (learner?.env ?? []).some((e) => e.name === "NCCL_SOCKET_IFNAME");
      report(`${t.name}: learner ranks get NCCL's settings`, nccl ? [] : ["no NCCL_SOCKET_IFNAME"]);
    }
  }
  if (configs.base && configs["overlays/gpu"]) {
    const allowed = new Set(["model.device", "model.dtype", "learner.backend"]);
    const extra = checks.differingPaths(configs.base, configs["overlays/gpu"]).filter((p) => !allowed.has(p));
    report("overlays/gpu: its config differs from the base's only in device, dtype and backend",
           extra.map((p) => `${p} differs`));
  }

  // The TLS certificate recipe against the names the cpu overlay dials (the gpu one's are the
  // same objects).
  if (cpu) {
    const name = "overlays/cpu: make-secrets.sh's certificate is valid for every address dialed";
    const outcome = await checkCertificateNames(cpu, { ...options, scratch });
    if (outcome.skipped) {
      results.skipped++;
      console.log(`skip  ${name}: ${outcome.skipped}`);
    } else {
      report(`${name} (${outcome.names?.join(", ")})`, outcome.errors);
    }
  }
} catch (e) {
  report("the test ran to its end", [e.stack ?? String(e)]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

console.log(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed ? 1 : 0);
