// The certificate that deploy/k8s/make-secrets.sh makes is valid for every address the
// rendered manifests make one Rein process dial another at: a real rein-feedback serves TLS
// with it on 127.0.0.1, and `reinctl health --tls-ca` dials it under each of those names,
// resolved to 127.0.0.1 by a private /etc/hosts in a mount namespace of its own (unshare -m:
// the machine's /etc/hosts is untouched). The pods' probes run as written in the manifests.
// A pod IP must fail: that is why workers advertise DNS names.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const kStartTimeoutMs = 60_000;

// Every name a Rein process is dialed at, from the rendered objects: --coordinator hosts,
// --advertise_host values, and REIN_ADVERTISE_HOST templates filled in for pod 0 and the last
// rank, as the kubelet would ($(POD_NAME), $(POD_NAMESPACE), $(RANK)).
export function dialedNames(docs) {
  const names = new Set();
  for (const doc of docs) {
    const spec = doc.spec?.template?.spec;
    if (!spec) continue;
    const namespace = doc.metadata.namespace ?? "default";
    const lastRank = Math.max(0, (doc.spec.completions ?? 1) - 1);
    for (const c of spec.containers ?? []) {
      for (const arg of c.args ?? []) {
        const m = /^--(coordinator|advertise_host)=([^:]+)/.exec(arg);
        if (m) names.add(m[2]);
      }
      const template = (c.env ?? []).find((e) => e.name === "REIN_ADVERTISE_HOST")?.value;
      if (!template) continue;
      for (const rank of new Set([0, lastRank])) {
        names.add(template.replaceAll("$(POD_NAME)", `${doc.metadata.name}-0`)
                         .replaceAll("$(POD_NAMESPACE)", namespace)
                         .replaceAll("$(RANK)", String(rank)));
      }
    }
  }
  return [...names];
}

// The probes' command lines, as written in the manifests (deduplicated).
function probeCommands(docs) {
  const commands = new Map();
  for (const doc of docs) {
    for (const c of doc.spec?.template?.spec?.containers ?? []) {
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const argv = c[probe]?.exec?.command;
        if (argv) commands.set(JSON.stringify(argv), argv);
      }
    }
  }
  return [...commands.values()];
}

function canUnshare() {
  const run = spawnSync("unshare", ["-m", "true"], { encoding: "utf8" });
  return run.status === 0;
}

// Starts rein-feedback with TLS; resolves to { child, port } once it announces its address.
function startFeedback(binDir, configFile, logFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir, "rein-feedback"), [`--config=${configFile}`, "--port=0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      reject(new Error(`rein-feedback did not announce its address in ${kStartTimeoutMs} ms: ${err}`));
    }, kStartTimeoutMs);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = / listening on [^\s:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
      writeFileSync(logFile, err);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`rein-feedback exited (${code ?? signal}) before serving: ${err}`));
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

// Runs `argvs` (each a command line) inside a mount namespace whose /etc/hosts maps `names`
// to 127.0.0.1. Returns each command's exit status and output.
function runWithHosts(names, argvs, scratch) {
  const hosts = join(scratch, "hosts");
  writeFileSync(hosts, `${readFileSync("/etc/hosts", "utf8")}\n127.0.0.1 ${names.join(" ")}\n`);
  const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  const lines = argvs.map((argv, i) =>
    `${argv.map(quote).join(" ")} > ${quote(join(scratch, `health-${i}.out`))} 2>&1; echo "$?" > ${quote(join(scratch, `health-${i}.rc`))}`);
  const script = [`mount --bind ${quote(hosts)} /etc/hosts || exit 1`, ...lines].join("\n");
  const run = spawnSync("unshare", ["-m", "sh", "-c", script], { encoding: "utf8", timeout: 120_000 });
  if (run.status !== 0) throw new Error(`unshare -m failed (${run.status ?? run.signal}): ${run.stderr}`);
  return argvs.map((_, i) => ({
    status: Number(readFileSync(join(scratch, `health-${i}.rc`), "utf8").trim()),
    output: readFileSync(join(scratch, `health-${i}.out`), "utf8").trim(),
  }));
}

// Returns { skipped } with a reason, or { errors } (empty = passed).
export async function checkCertificateNames(docs, { sourceDir, binDir, scratch }) {
  if (spawnSync("openssl", ["version"]).status !== 0) return { skipped: "no openssl" };
  if (!canUnshare()) return { skipped: "unshare -m is not allowed here (needs root)" };
  const dir = join(scratch, "tls-names");
  mkdirSync(dir, { recursive: true });
  const namespace = docs.find((d) => d.metadata?.namespace)?.metadata.namespace ?? "default";
  const made = spawnSync(join(sourceDir, "deploy/k8s/make-secrets.sh"), [namespace, join(dir, "secrets")], {
    encoding: "utf8",
  });
  if (made.status !== 0) return { errors: [`make-secrets.sh failed: ${made.stderr}`] };
  const tls = join(dir, "secrets/tls");
  const auth = join(dir, "secrets/auth");
  const config = join(dir, "feedback.yaml");
  writeFileSync(config, [
    "server:",
    "  host: 127.0.0.1",
    `  tls: {cert: ${tls}/tls.crt, key: ${tls}/tls.key, client_ca: ${tls}/ca.crt}`,
    `  auth: {worker_token_file: ${auth}/worker-token, operator_token_file: ${auth}/operator-verifier,`,
    `         monitor_token_file: ${auth}/monitor-verifier}`,
    "feedback:",
    `  store: sqlite:${join(dir, "feedback.db")}`,
    `  admin_token_file: ${auth}/feedback-admin-token`,
    "",
  ].join("\n"));

  const names = dialedNames(docs);
  const errors = [];
  if (!names.includes("rein-coordinator")) errors.push("no --coordinator=rein-coordinator found");
  const { child, port } = await startFeedback(binDir, config, join(dir, "feedback.log"));
  try {
    const reinctl = join(binDir, "reinctl");
    const health = (host) => [reinctl, "health", `${host}:${port}`, `--tls-ca=${tls}/ca.crt`];
    // The probes as written, pointed at this server's port and these files.
    const probes = probeCommands(docs).map((argv) => [
      argv[0] === "reinctl" ? reinctl : argv[0],
      ...argv.slice(1).map((a) => a.replace(/:50051$/, `:${port}`).replace("/etc/rein/tls", tls)),
    ]);
    const argvs = [...names.map(health), ...probes, health("127.0.0.1")];
    const results = runWithHosts(names, argvs, dir);
    names.forEach((name, i) => {
      if (results[i].status !== 0) errors.push(`${name}: not valid for the certificate: ${results[i].output}`);
    });
    probes.forEach((argv, i) => {
      const r = results[names.length + i];
      if (r.status !== 0) errors.push(`probe ${argv.slice(1).join(" ")}: ${r.output}`);
    });
    const ip = results[results.length - 1];
    if (ip.status === 0) errors.push("a pod IP (127.0.0.1) passed verification: the check is not checking");
    if (probes.length === 0) errors.push("no exec probe found");
  } finally {
    await stop(child);
  }
  return { errors, names };
}
