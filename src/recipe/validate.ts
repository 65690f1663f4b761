// Schema validation with messages a person can act on: which key, what was expected,
// what was found, and the closest valid name where a name was misspelled.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Diagnostic } from './diagnostic.js';
import { projectSchema, recipeSchema, stepKinds } from './schema.js';
import { didYouMean } from './suggest.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
ajv.addSchema(recipeSchema);
ajv.addSchema(projectSchema);

function compiled(ref: string): ValidateFunction {
  const v = ajv.getSchema(ref);
  if (!v) throw new Error(`bug: schema ${ref} is not registered`);
  return v;
}

const validateProjectData = compiled(projectSchema.$id);
const validateRecipeTop = ajv.compile({
  ...recipeSchema,
  $id: undefined,
  properties: { ...recipeSchema.properties, steps: { type: 'array', minItems: 1 } },
  definitions: undefined,
});
const validateStepOfKind = new Map(stepKinds.map((k) => [k, compiled(`${recipeSchema.$id}#/definitions/${k}`)]));

/** Validates a recipe file's data; steps are checked one by one against the schema of their kind. */
export function validateRecipeData(data: unknown, source: YamlSource): Diagnostic[] {
  if (data === null || data === undefined) {
    return [{ loc: source.locate([]), message: 'the recipe is empty; it needs at least "steps"' }];
  }
  const out = errorsOf(validateRecipeTop, data, [], source);
  const steps = (data as { steps?: unknown }).steps;
  if (Array.isArray(steps)) steps.forEach((s, i) => out.push(...validateStep(s, ['steps', i], source)));
  return out;
}

export function validateProjectConfigData(data: unknown, source: YamlSource): Diagnostic[] {
  if (data === null || data === undefined) return [];
  return errorsOf(validateProjectData, data, [], source);
}

function validateStep(step: unknown, at: PathSegment[], source: YamlSource): Diagnostic[] {
  if (typeof step !== 'object' || step === null || Array.isArray(step)) {
    return [{ loc: source.locate(at), message: `a step must be a mapping such as "run: ...", found ${describe(step)}` }];
  }
  const keys = Object.keys(step);
  const kinds = keys.filter((k): k is (typeof stepKinds)[number] => (stepKinds as string[]).includes(k));
  if (kinds.length === 0) {
    const guess = keys.map((k) => didYouMean(k, stepKinds)).find((s) => s !== '') ?? '';
    return [
      {
        loc: source.locate(keys.length > 0 ? [...at, keys[0]!] : at, 'key'),
        message: `unknown step kind${keys.length > 0 ? ` "${keys[0]}"` : ''}${guess}; a step is one of ${stepKinds.join(', ')}`,
      },
    ];
  }
  if (kinds.length > 1) {
    return [
      {
        loc: source.locate([...at, kinds[1]!], 'key'),
        message: `a step has exactly one kind, found ${kinds.map((k) => `"${k}"`).join(' and ')}; split it into separate steps`,
      },
    ];
  }
  return errorsOf(validateStepOfKind.get(kinds[0]!)!, step, at, source);
}

function errorsOf(validate: ValidateFunction, data: unknown, base: PathSegment[], source: YamlSource): Diagnostic[] {
  if (validate(data)) return [];
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
  // An anyOf failure also reports each branch; keep the anyOf's own summary only.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const kept = errors.filter(
    (e) => e.keyword === 'anyOf' || ![...anyOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`)),
  );
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of kept) {
    const d = toDiagnostic(e, data, base, source);
    const key = `${d.loc.line}:${d.loc.col}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

function toDiagnostic(e: ErrorObject, data: unknown, base: PathSegment[], source: YamlSource): Diagnostic {
  const rel = pointerToPath(e.instancePath, data);
  const path = [...base, ...rel];
  const name = label(path);
  const value = valueAt(data, rel);
  const schema: Record<string, unknown> | undefined = e.parentSchema;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((schema?.properties as object | undefined) ?? {});
      return {
        loc: source.locate([...path, key], 'key'),
        message: `unknown key "${key}"${name ? ` in ${name}` : ''}${didYouMean(key, allowed)}`,
        hint: `allowed keys: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { loc: source.locate(path), message: `missing required key "${key}"${name ? ` in ${name}` : ''}` };
    }
    case 'type': {
      const expected = String((e.params as { type: string }).type)
        .split(',')
        .map(typeName)
        .join(' or ');
      return { loc: source.locate(path), message: `${name || 'the recipe'} must be ${expected}, found ${describe(value)}` };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      return {
        loc: source.locate(path),
        message: `${name} must be one of ${allowed.join(', ')}, found ${describe(value)}${typeof value === 'string' ? didYouMean(value, allowed) : ''}`,
      };
    }
    case 'pattern':
      return {
        loc: source.locate(e.propertyName !== undefined ? [...path, e.propertyName] : path, e.propertyName !== undefined ? 'key' : 'value'),
        message: `${e.propertyName !== undefined ? `"${e.propertyName}" in ${name}` : name} ${(schema?.['x-message'] as string | undefined) ?? `must match ${String((e.params as { pattern: string }).pattern)}`}, found ${describe(e.propertyName ?? value)}`,
      };
    case 'propertyNames':
      return { loc: source.locate(path), message: `${name} has an invalid key` };
    case 'minimum':
    case 'maximum': {
      const lo = schema?.minimum as number | undefined;
      const hi = schema?.maximum as number | undefined;
      const range = hi !== undefined ? `between ${lo} and ${hi}` : `at least ${lo}`;
      return { loc: source.locate(path), message: `${name} must be ${range}, found ${describe(value)}` };
    }
    case 'minItems':
      return { loc: source.locate(path), message: `${name} must not be empty` };
    case 'minLength':
      return { loc: source.locate(path), message: `${name} must not be empty` };
    case 'anyOf':
      return {
        loc: source.locate(path),
        message: `${name} must be ${describeAnyOf(schema)}, found ${describe(value)}`,
      };
    default:
      return { loc: source.locate(path), message: `${name || 'the recipe'} ${e.message ?? 'is invalid'}` };
  }
}

function describeAnyOf(schema: Record<string, unknown> | undefined): string {
  const branches = (schema?.anyOf as Record<string, unknown>[] | undefined) ?? [];
  const parts = branches.map((b) => (b.type === 'array' ? 'a list of absolute paths' : 'an absolute path'));
  return parts.join(' or ');
}

function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segs = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: PathSegment[] = [];
  let node = data;
  for (const s of segs) {
    const seg: PathSegment = Array.isArray(node) ? Number(s) : s;
    out.push(seg);
    node = (node as Record<string | number, unknown> | undefined)?.[seg];
  }
  return out;
}

function valueAt(data: unknown, path: PathSegment[]): unknown {
  let node = data;
  for (const s of path) node = (node as Record<string | number, unknown> | undefined)?.[s];
  return node;
}

/** `steps[2].to`, `squashfs.level`: how a person names a place in the file. */
export function label(path: PathSegment[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out === '' ? '' : `"${out}"`;
}

function typeName(t: string): string {
  switch (t) {
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'empty';
    default:
      return t;
  }
}

/** What a value is, for "found ..." in messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return JSON.stringify(v);
}
