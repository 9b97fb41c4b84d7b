// Strict validation of Kubernetes objects against the API's schemas, as kubectl's
// --validate=strict and the API server's fieldValidation=Strict do: wrong types, missing
// required fields and unknown fields all fail.
//
// The schemas are kubernetes-models' (npm), JSON-schema validators generated from the
// Kubernetes OpenAPI spec. They check types, formats and required fields, but let unknown fields
// through (the generated schemas have no additionalProperties: false). Unknown fields are found
// from the same validators: every document is validated through Proxies that record which
// fields the validator read at each path. A validator reads each field its schema declares (and
// every key of a map-typed field), so a field present in the document that it never read is not
// in the schema. No schema is written by hand here.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// kubernetes-models' files, found by path (import.meta.resolve needs Node 20; Debian 12 has 18).
const kModels = join(dirname(fileURLToPath(import.meta.url)), "node_modules/kubernetes-models");

const validatorCache = new Map();

// The generated validate function of apiVersion/kind, or an Error naming why there is none.
export async function schemaValidator(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (validatorCache.has(key)) return validatorCache.get(key);
  let result;
  try {
    // "apps/v1" + "Deployment" → the model's file ("v1" is the core group), which names its
    // schema module (kubernetes-models/_schemas/IoK8sApi...).
    if (!/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
      throw new Error("not a Kubernetes apiVersion and kind");
    }
    const modelFile = join(kModels, apiVersion, `${kind}.js`);
    const match = /_schemas\/(\w+)\.js/.exec(readFileSync(modelFile, "utf8"));
    if (!match) throw new Error(`no schema import in ${modelFile}`);
    const schema = await import(pathToFileURL(join(kModels, "_schemas", `${match[1]}.js`)).href);
    result = schema.validate;
  } catch (e) {
    result = new Error(`no Kubernetes schema for apiVersion ${apiVersion}, kind ${kind} (${e.message})`);
  }
  validatorCache.set(key, result);
  return result;
}

// Wraps `root` so that reads of every nested object's fields are recorded in `reads`
// (object → Set of field names).
function trackReads(root, reads) {
  const proxies = new Map();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    let proxy = proxies.get(value);
    if (proxy) return proxy;
    const seen = new Set();
    reads.set(value, seen);
    proxy = new Proxy(value, {
      get(target, property, receiver) {
        if (typeof property === "string") seen.add(property);
        return wrap(Reflect.get(target, property, receiver));
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return wrap(root);
}

// Fields of `node` (and below) that the validator never read: "path/field" strings.
function unreadFields(node, reads, path, out) {
  if (node === null || typeof node !== "object") return out;
  if (Array.isArray(node)) {
    node.forEach((item, i) => unreadFields(item, reads, `${path}/${i}`, out));
    return out;
  }
  const seen = reads.get(node) ?? new Set();
  for (const [field, value] of Object.entries(node)) {
    if (!seen.has(field)) {
      out.push(`${path}/${field}`);
    } else {
      unreadFields(value, reads, `${path}/${field}`, out);
    }
  }
  return out;
}

// Validates one object strictly. Returns a list of error strings, empty when the object is
// valid: "<path>: unknown field" for fields the schema does not declare, and the schema's own
// messages ("<path> must be integer", "must have required property 'selector'") otherwise.
export async function validateStrictly(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return ["document is not an object"];
  }
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["document has no apiVersion and kind"];
  }
  const validate = await schemaValidator(apiVersion, kind);
  if (validate instanceof Error) return [validate.message];
  const reads = new Map();
  const errors = [];
  if (!validate(trackReads(object, reads))) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath || "/";
      const detail = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "";
      errors.push(`${where}: ${e.message ?? e.keyword}${detail}`);
    }
  }
  for (const field of unreadFields(object, reads, "", [])) {
    errors.push(`${field}: unknown field (not in the ${apiVersion} ${kind} schema)`);
  }
  return errors;
}
