// Checks the files under deploy/ for Hub.Tests/Deploy. Usage:
//   node deploy-check.mjs kubernetes FILE...  every document is a whole Kubernetes object: schema-valid (kubernetes-models:
//                                             types, required fields, formats) and no field the API does not know
//   node deploy-check.mjs patch FILE...       every document is a strategic-merge patch: no field the API does not know
//   node deploy-check.mjs yaml FILE...        every document parses
// Prints {"documents":[{"file","object"}...],"errors":["..."]} as JSON and exits 1 when there is an error.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
// The generated models alone, not the client (which pulls in an HTTP stack): each knows its fields and their types.
import * as apiTypes from "@kubernetes/client-node/dist/gen/models/all.js";

const [mode, ...files] = process.argv.slice(2);
if (!["kubernetes", "patch", "yaml"].includes(mode) || files.length === 0) {
  console.error("usage: node deploy-check.mjs kubernetes|patch|yaml FILE...");
  process.exit(2);
}

const documents = [];
const errors = [];
for (const file of files) {
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (document.errors.length > 0) {
      errors.push(...document.errors.map(error => `${file}: ${error.message}`));
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) {
      continue; // an empty document, e.g. after a trailing ---
    }
    const where = `${file}: ${object.kind ?? "?"} ${object.metadata?.name ?? "?"}`;
    if (mode !== "yaml") {
      const typeName = apiTypeName(object);
      if (typeof apiTypes[typeName]?.getAttributeTypeMap !== "function") {
        errors.push(`${where}: no Kubernetes type ${object.apiVersion} ${object.kind}`);
        continue;
      }
      errors.push(...unknownFields(object, typeName, "").map(error => `${where}: ${error}`));
      if (mode === "kubernetes") {
        errors.push(...(await schemaErrors(object)).map(error => `${where}: ${error}`));
      }
    }
    documents.push({ file, object });
  }
}

console.log(JSON.stringify({ documents, errors }));
process.exit(errors.length > 0 ? 1 : 0);

/** apps/v1 Deployment -> V1Deployment; autoscaling/v2 HorizontalPodAutoscaler -> V2HorizontalPodAutoscaler. */
function apiTypeName({ apiVersion = "", kind = "" }) {
  const version = apiVersion.split("/").pop();
  return version.charAt(0).toUpperCase() + version.slice(1) + kind;
}

/** Fields the API's types do not have, at any depth (kubeconform's -strict): a misspelt field is otherwise dropped silently. */
function unknownFields(value, type, path) {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return Array.isArray(value) ? value.flatMap((item, index) => unknownFields(item, array[1], `${path}[${index}]`)) : [`${path}: expected a list`];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return isObject(value) ? Object.entries(value).flatMap(([key, item]) => unknownFields(item, map[1], `${path}.${key}`)) : [`${path}: expected a map`];
  }
  const model = apiTypes[type];
  if (typeof model?.getAttributeTypeMap !== "function") {
    return []; // a scalar (string, number, IntOrString, Date) or free-form (any): the schema check covers these
  }
  if (!isObject(value)) {
    return [`${path || "."}: expected an object (${type})`];
  }
  const fields = new Map(model.getAttributeTypeMap().map(field => [field.baseName, field.type]));
  return Object.entries(value).flatMap(([key, item]) =>
    fields.has(key) ? unknownFields(item, fields.get(key), `${path}.${key}`) : [`${path}.${key}: unknown field of ${type}`]);
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The Kubernetes OpenAPI schema of the object's kind, as kubernetes-models compiled it: types, required fields, formats. */
async function schemaErrors(object) {
  const group = object.apiVersion.includes("/") ? object.apiVersion : `v1`;
  let model;
  try {
    model = (await import(`kubernetes-models/${group}/${object.kind}`))[object.kind];
  } catch {
    return [`no schema for ${object.apiVersion} ${object.kind} in kubernetes-models`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [error.message];
  }
}
