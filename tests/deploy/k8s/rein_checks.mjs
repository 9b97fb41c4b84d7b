// Checks of the rendered manifests that no Kubernetes schema can make: that they match Rein's
// binaries and the experiment config they carry. Each function returns a list of error
// strings (empty = passed).
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { parse as parseYaml } from "yaml";

const kWorkloadKinds = new Set(["Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"]);

function podSpecOf(doc) {
  return kWorkloadKinds.has(doc.kind) ? doc.spec?.template?.spec : undefined;
}

function workloads(docs) {
  return docs.filter((d) => podSpecOf(d));
}

function find(docs, kind, name) {
  return docs.find((d) => d.kind === kind && d.metadata?.name === name);
}

// The ConfigMap generated from config.yaml (its name carries kustomize's hash suffix).
export function experimentConfig(docs) {
  const maps = docs.filter(
    (d) => d.kind === "ConfigMap" && /^rein-config(-[a-z0-9]+)?$/.test(d.metadata?.name ?? ""));
  if (maps.length !== 1) throw new Error(`expected one rein-config ConfigMap, found ${maps.length}`);
  const text = maps[0].data?.["config.yaml"];
  if (typeof text !== "string") throw new Error("rein-config has no config.yaml");
  return { text, config: parseYaml(text) ?? {} };
}

// Every command line a pod runs: containers, init containers and exec probes.
function commandLines(doc) {
  const spec = podSpecOf(doc);
  const lines = [];
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const where = `${doc.kind}/${doc.metadata.name} container ${c.name}`;
    lines.push({ where, container: c, argv: [...(c.command ?? []), ...(c.args ?? [])] });
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const argv = c[probe]?.exec?.command;
      if (argv) lines.push({ where: `${where} ${probe}`, container: c, argv, probe: true });
    }
  }
  return lines;
}

const kHelpCache = new Map();

// Flag names a Rein binary accepts, from its own help: absl's --helpfull for the services,
// CLI11's `reinctl <command> --help` for reinctl.
function knownFlags(binDir, argv) {
  const binary = posix.basename(argv[0]);
  const sub = binary === "reinctl" ? argv[1] : undefined;
  const key = `${binary} ${sub ?? ""}`;
  if (kHelpCache.has(key)) return kHelpCache.get(key);
  const path = join(binDir, binary);
  let result;
  if (!existsSync(path)) {
    result = new Error(`${binary}: no such binary in ${binDir}`);
  } else {
    const helpArgs = sub ? [sub, "--help"] : ["--helpfull"];
    const run = spawnSync(path, helpArgs, { encoding: "utf8", timeout: 60_000 });
    const text = `${run.stdout ?? ""}${run.stderr ?? ""}`;
    const pattern = sub ? /(?:^|[\s,])--([a-z][a-z0-9-]*)/gm : /^\s+--([A-Za-z0-9_]+) \(/gm;
    const flags = new Set([...text.matchAll(pattern)].map((m) => m[1]));
    result = flags.size ? flags : new Error(`${binary} ${helpArgs.join(" ")} listed no flags`);
  }
  kHelpCache.set(key, result);
  return result;
}

function isReinBinary(argv0) {
  const name = posix.basename(argv0 ?? "");
  return name.startsWith("rein-") || name === "reinctl";
}

function flagName(token) {
  return token.slice(2).split("=")[0];
}

function flagValue(argv, name) {
  for (const token of argv) {
    if (token.startsWith(`--${name}=`)) return token.slice(name.length + 3);
  }
  return undefined;
}

// Every --flag passed to a Rein binary exists in that binary.
export function checkFlags(docs, binDir) {
  const errors = [];
  let checked = 0;
  for (const doc of workloads(docs)) {
    for (const { where, argv } of commandLines(doc)) {
      if (!isReinBinary(argv[0])) continue;
      const flags = knownFlags(binDir, argv);
      if (flags instanceof Error) {
        errors.push(`${where}: ${flags.message}`);
        continue;
      }
      for (const token of argv.slice(1)) {
        if (!token.startsWith("--")) continue;
        checked++;
        if (!flags.has(flagName(token))) {
          errors.push(`${where}: ${posix.basename(argv[0])} has no flag --${flagName(token)}`);
        }
      }
    }
  }
  if (checked === 0) errors.push("no --flag passed to any Rein binary: nothing was checked");
  return errors;
}

// The counts in the manifests agree with the config: learner ranks, replicas per role.
export function checkCounts(docs, config) {
  const errors = [];
  const ranks = config.learner?.ranks ?? 1;
  const job = find(docs, "Job", "rein-learner");
  if (!job) {
    errors.push("no Job rein-learner");
  } else {
    if (job.spec.completionMode !== "Indexed") errors.push("Job rein-learner is not Indexed");
    if (job.spec.completions !== ranks) {
      errors.push(`Job rein-learner completions ${job.spec.completions} != learner.ranks ${ranks}`);
    }
    if (job.spec.parallelism !== ranks) {
      errors.push(`Job rein-learner parallelism ${job.spec.parallelism} != learner.ranks ${ranks}`);
    }
    const env = job.spec.template.spec.containers[0].env ?? [];
    const worldSize = env.find((e) => e.name === "WORLD_SIZE")?.value;
    if (worldSize !== String(ranks)) {
      errors.push(`Job rein-learner WORLD_SIZE ${worldSize} != learner.ranks ${ranks}`);
    }
    const rank = env.find((e) => e.name === "RANK")?.valueFrom?.fieldRef?.fieldPath;
    if (rank !== "metadata.annotations['batch.kubernetes.io/job-completion-index']") {
      errors.push(`Job rein-learner RANK does not come from the completion index (${rank})`);
    }
  }
  for (const role of ["rollout", "reward", "reference"]) {
    const set = find(docs, "StatefulSet", `rein-${role}`);
    const want = config[role]?.replicas ?? 1;
    if (!set) errors.push(`no StatefulSet rein-${role}`);
    else if ((set.spec.replicas ?? 1) !== want) {
      errors.push(`StatefulSet rein-${role} replicas ${set.spec.replicas} != ${role}.replicas ${want}`);
    }
  }
  return errors;
}

function containerPort(container, name) {
  return container.ports?.find((p) => p.name === name)?.containerPort;
}

// Ports, addresses and requests: what a pod listens on is what the config and flags say, what
// it dials exists, and every container asks for CPU and memory.
export function checkWiring(docs, config) {
  const errors = [];
  if (config.server?.host !== "0.0.0.0") {
    errors.push(`server.host is ${config.server?.host}: pods must listen on 0.0.0.0`);
  }
  const metricsPort = config.server?.metrics_port;
  if (!Number.isInteger(metricsPort) || metricsPort === 0) {
    errors.push("server.metrics_port must be fixed for Prometheus to find it");
  }
  for (const doc of workloads(docs)) {
    const name = `${doc.kind}/${doc.metadata.name}`;
    const annotations = doc.spec.template.metadata?.annotations ?? {};
    if (annotations["prometheus.io/scrape"] !== "true") errors.push(`${name}: not scraped`);
    if (annotations["prometheus.io/port"] !== String(metricsPort)) {
      errors.push(`${name}: prometheus.io/port ${annotations["prometheus.io/port"]} != ${metricsPort}`);
    }
    const spec = podSpecOf(doc);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const requests = c.resources?.requests ?? {};
      if (!requests.cpu || !requests.memory) {
        errors.push(`${name} container ${c.name}: no cpu and memory requests`);
      }
    }
    for (const c of spec.containers) {
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      if (!isReinBinary(argv[0])) continue;
      const port = flagValue(argv, "port");
      if (port === undefined || Number(port) !== containerPort(c, "grpc")) {
        errors.push(`${name}: --port=${port} is not its grpc containerPort`);
      }
      if (containerPort(c, "metrics") !== metricsPort) {
        errors.push(`${name}: metrics containerPort is not server.metrics_port ${metricsPort}`);
      }
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        if (!c[probe]) errors.push(`${name}: no ${probe}`);
      }
      const coordinator = flagValue(argv, "coordinator");
      if (coordinator !== undefined) {
        const [host, p] = coordinator.split(":");
        const service = find(docs, "Service", host);
        if (!service?.spec.ports?.some((sp) => sp.port === Number(p))) {
          errors.push(`${name}: --coordinator=${coordinator} is no Service port`);
        }
      }
      const env = (key) => (c.env ?? []).find((e) => e.name === key)?.value;
      const masterPort = env("MASTER_PORT");
      if (masterPort !== undefined && Number(masterPort) !== containerPort(c, "rendezvous")) {
        errors.push(`${name}: MASTER_PORT ${masterPort} is not its rendezvous containerPort`);
      }
      // The names pods advertise exist: the pod is under the headless Service its name uses.
      const advertised = env("REIN_ADVERTISE_HOST");
      const domain = /^[^.]+\.([^.]+)\./.exec(advertised ?? "")?.[1];
      if (advertised !== undefined) {
        const service = find(docs, "Service", domain);
        const labels = doc.spec.template.metadata?.labels ?? {};
        const selected = service && service.spec.clusterIP === "None" &&
          Object.entries(service.spec.selector ?? {}).every(([k, v]) => labels[k] === v);
        const under = doc.kind === "Job" ? spec.subdomain : doc.spec.serviceName;
        if (!selected || under !== domain) {
          errors.push(`${name}: advertises ${advertised} but is not a pod of headless Service ${domain}`);
        }
        const host = doc.kind === "Job" ? `${doc.metadata.name}-$(RANK)` : "$(POD_NAME)";
        if (!advertised.startsWith(`${host}.`)) {
          errors.push(`${name}: advertises ${advertised}, not its own pod's name ${host}`);
        }
      }
      const masterAddr = env("MASTER_ADDR");
      if (masterAddr !== undefined && doc.kind === "Job" &&
          !masterAddr.startsWith(`${doc.metadata.name}-0.${spec.subdomain}.`)) {
        errors.push(`${name}: MASTER_ADDR ${masterAddr} is not rank 0's name`);
      }
    }
  }
  return errors;
}

// Where `path` comes from in `container`: the mount holding it and its volume.
function mountFor(spec, container, path) {
  let best;
  for (const m of container.volumeMounts ?? []) {
    const root = m.mountPath.replace(/\/$/, "");
    if (path === root || path.startsWith(`${root}/`)) {
      if (!best || root.length > best.mountPath.length) best = { ...m, mountPath: root };
    }
  }
  if (!best) return undefined;
  return { mount: best, volume: spec.volumes?.find((v) => v.name === best.name) };
}

// Every container running a Rein binary, with its pod spec, argv and binary name.
function* reinContainers(docs) {
  for (const doc of workloads(docs)) {
    const spec = podSpecOf(doc);
    for (const c of spec.containers) {
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      if (isReinBinary(argv[0])) yield { doc, spec, c, argv, binary: posix.basename(argv[0]) };
    }
  }
}

// The files the config names exist in the pods that read them: the config itself, TLS and
// token files (from which Secret key), the feedback store and the run folder.
export function checkMounts(docs, config) {
  const errors = [];
  const tls = config.server?.tls ?? {};
  const auth = config.server?.auth ?? {};
  const everyone = [tls.cert, tls.key, tls.client_ca, config.server?.auth_token_file,
                    auth.worker_token_file, auth.operator_token_file, auth.monitor_token_file];
  const storePath = /^sqlite:(?:\/\/)?(\/.*)$/.exec(config.feedback?.store ?? "")?.[1];
  const byBinary = {
    "rein-coordinator": [config.feedback?.admin_token_file, config.run?.output_dir],
    "rein-feedback": [config.feedback?.admin_token_file, storePath],
    "rein-learner": [config.run?.output_dir],
  };
  for (const { doc, spec, c, argv, binary } of reinContainers(docs)) {
    const paths = [flagValue(argv, "config"), ...everyone, ...(byBinary[binary] ?? [])];
    for (const path of paths.filter(Boolean)) {
      const where = `${doc.kind}/${doc.metadata.name} (${binary}) ${path}`;
      const found = mountFor(spec, c, path);
      if (!found?.volume) {
        errors.push(`${where}: on no volume`);
        continue;
      }
      const relative = path.slice(found.mount.mountPath.length + 1);
      const source = found.volume.secret ?? found.volume.configMap;
      const sub = found.mount.subPath;
      if (source?.items && !sub && !source.items.some((i) => i.path === relative)) {
        errors.push(`${where}: not among the mounted items of ${found.volume.name}`);
      }
      if (sub && source?.items && !source.items.some((i) => i.path === sub)) {
        errors.push(`${where}: subPath ${sub} is not among the items of ${found.volume.name}`);
      }
    }
  }
  return errors;
}

// `reinctl config check` accepts the config as it lands in the pods.
export function checkConfigWithReinctl(text, binDir, scratchFile) {
  writeFileSync(scratchFile, text);
  // --parse-only: the paths are the pods', not this machine's.
  const run = spawnSync(join(binDir, "reinctl"), ["config", "check", "--parse-only", scratchFile], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status === 0) return [];
  return [`reinctl config check failed (${run.status ?? run.signal}): ${run.stdout}${run.stderr}`];
}

// Paths ("a.b.c") at which two parsed YAML values differ.
export function differingPaths(a, b, prefix = "") {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differingPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

// What the overlay is for: the gpu one gives each model-holding pod a GPU and the CUDA image,
// the cpu one neither.
export function checkAccelerators(docs, { gpu, image }) {
  const errors = [];
  const gpuRoles = ["rein-rollout", "rein-reward", "rein-reference", "rein-reward-learner", "rein-learner"];
  for (const doc of workloads(docs)) {
    const spec = podSpecOf(doc);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const where = `${doc.kind}/${doc.metadata.name} container ${c.name}`;
      if (!c.image?.startsWith(`${image}:`)) errors.push(`${where}: image ${c.image}, not ${image}`);
      const gpus = c.resources?.limits?.["nvidia.com/gpu"];
      const wantGpu = gpu && gpuRoles.includes(doc.metadata.name) && spec.containers.includes(c);
      if (wantGpu && !(Number(gpus) >= 1)) errors.push(`${where}: no nvidia.com/gpu limit`);
      if (!wantGpu && gpus !== undefined) errors.push(`${where}: has nvidia.com/gpu ${gpus}`);
    }
  }
  return errors;
}

// The Secret keys a container's volumes project at each path ("path" -> "key"); a volume
// without items projects every key under its own name (`allKeys`).
function projectedKeys(spec, container, secretName, allKeys) {
  const keys = new Map();
  for (const m of container.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    if (volume?.secret?.secretName !== secretName) continue;
    const root = m.mountPath.replace(/\/$/, "");
    const items = volume.secret.items ?? allKeys.map((k) => ({ key: k, path: k }));
    for (const item of items) keys.set(`${root}/${item.path}`, item.key);
  }
  return keys;
}

// Per-role credentials: only the coordinator holds the operator token; every other Rein
// process holds its own worker token and, at the operator's and monitor's paths, only their
// verifiers, so that a worker pod can check the coordinator's calls but never make them.
export function checkRoleSecrets(docs, config) {
  const errors = [];
  const auth = config.server?.auth;
  if (!auth) return ["the config has no server.auth (a token per role)"];
  const allKeys = ["worker-token", "operator-token", "monitor-token", "worker-verifier",
                   "operator-verifier", "monitor-verifier", "feedback-admin-token"];
  const wanted = {
    "rein-coordinator": { operator_token_file: "operator-token", monitor_token_file: "monitor-token",
                          worker_token_file: "worker-verifier" },
    worker: { worker_token_file: "worker-token", operator_token_file: "operator-verifier",
              monitor_token_file: "monitor-verifier" },
  };
  for (const { doc, spec, c, binary } of reinContainers(docs)) {
    const where = `${doc.kind}/${doc.metadata.name} (${binary})`;
    const keys = projectedKeys(spec, c, "rein-auth", allKeys);
    if (binary !== "rein-coordinator" && [...keys.values()].includes("operator-token")) {
      errors.push(`${where}: mounts operator-token; only the coordinator may`);
    }
    const expected = wanted[binary === "rein-coordinator" ? binary : "worker"];
    for (const [field, key] of Object.entries(expected)) {
      const got = keys.get(auth[field]);
      if (got !== key) errors.push(`${where}: server.auth.${field} is ${got ?? "not mounted"}, not ${key}`);
    }
  }
  return errors;
}
