// Schema validation with messages a person can act on: which key, what was expected,
// what was found, and the closest valid name where a name was misspelled.
import { fileLoc } from './diagnostic.js';
import { stepKinds } from './schema.js';
import * as generated from './validators.generated.js';
import { closest, didYouMean } from './suggest.js';
import { valueAt } from './yaml-source.js';
// Precompiled from schema.ts (generate-validators.ts): compiling at start-up was the
// slowest part of a no-op build.
const validators = generated;
const validateProjectData = validators.project;
const validateRecipeTop = validators.recipeTop;
const validateStepOfKind = new Map(stepKinds.map((k) => [k, validators[`step_${k}`]]));
/** Validates a recipe file's data; steps are checked one by one against the schema of their kind. */
export function validateRecipeData(data, source) {
    if (data === null || data === undefined) {
        return [{ loc: fileLoc(source.file), message: 'the recipe is empty; it needs at least "steps"' }];
    }
    const out = errorsOf(validateRecipeTop, data, [], source, 'the recipe');
    const steps = data.steps;
    if (Array.isArray(steps))
        steps.forEach((s, i) => out.push(...validateStep(s, ['steps', i], source)));
    return out;
}
export function validateProjectConfigData(data, source) {
    if (data === null || data === undefined)
        return [];
    return errorsOf(validateProjectData, data, [], source, source.file);
}
function validateStep(step, at, source) {
    if (typeof step !== 'object' || step === null || Array.isArray(step)) {
        return [{ loc: source.locate(at), message: `a step must be a mapping such as "run: ...", found ${describe(step)}` }];
    }
    const keys = Object.keys(step);
    const kinds = keys.filter((k) => stepKinds.includes(k));
    if (kinds.length === 0) {
        if (keys.length === 0) {
            return [{ loc: source.locate(at), message: `an empty step; a step is one of ${stepKinds.join(', ')}` }];
        }
        // The misspelled kind is the key that is closest to a kind, else the first one.
        const unknown = keys.find((k) => closest(k, stepKinds) !== undefined) ?? keys[0];
        return [
            {
                loc: source.locate([...at, unknown], 'key'),
                message: `unknown step kind "${unknown}"${didYouMean(unknown, stepKinds)}; a step is one of ${stepKinds.join(', ')}`,
            },
        ];
    }
    if (kinds.length > 1) {
        return [
            {
                loc: source.locate([...at, kinds[1]], 'key'),
                message: `a step has exactly one kind, found ${kinds.map((k) => `"${k}"`).join(' and ')}; split it into separate steps`,
            },
        ];
    }
    return errorsOf(validateStepOfKind.get(kinds[0]), step, at, source, 'the recipe');
}
/** `whole` names the file's top level in messages ("the recipe", "sqsh-layers.yaml"). */
function errorsOf(validate, data, base, source, whole) {
    if (validate(data))
        return [];
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
    const kept = errors.filter((e) => !redundant(e, errors));
    const seen = new Set();
    const out = [];
    for (const e of kept) {
        const d = toDiagnostic(e, data, base, source, whole);
        const key = `${d.loc.line}:${d.loc.col}:${d.message}`;
        if (!seen.has(key)) {
            seen.add(key);
            out.push(d);
        }
    }
    return out;
}
/** Errors that another error of the same run already says better. */
function redundant(e, all) {
    // anyOf (e.g. `remove`: a path or a list of paths): a branch whose type does not match the
    // value says nothing; what the matching branch reports is the real problem. The anyOf's own
    // summary is kept only when no branch matched the value's type.
    const anyOf = all.find((a) => a.keyword === 'anyOf' && a !== e && e.schemaPath.startsWith(`${a.schemaPath}/`));
    if (anyOf)
        return e.keyword === 'type' && e.instancePath === anyOf.instancePath;
    if (e.keyword === 'anyOf') {
        return all.some((b) => b !== e && b.schemaPath.startsWith(`${e.schemaPath}/`) && !(b.keyword === 'type' && b.instancePath === e.instancePath));
    }
    // A bad key name is reported by its pattern error, which names the key.
    if (e.keyword === 'propertyNames')
        return all.some((b) => b.propertyName !== undefined && b.instancePath === e.instancePath);
    // `stpes:` reported as unknown (did you mean "steps"?) need not also say "steps" is missing.
    if (e.keyword === 'required') {
        const missing = e.params.missingProperty;
        return all.some((b) => b.keyword === 'additionalProperties' &&
            b.instancePath === e.instancePath &&
            closest(String(b.params.additionalProperty), [missing]) === missing);
    }
    return false;
}
function toDiagnostic(e, data, base, source, whole) {
    const rel = pointerToPath(e.instancePath, data);
    const path = [...base, ...rel];
    const name = label(path);
    const value = valueAt(data, rel);
    const schema = e.parentSchema;
    switch (e.keyword) {
        case 'additionalProperties': {
            const key = String(e.params.additionalProperty);
            const allowed = Object.keys(schema?.properties ?? {});
            return {
                loc: source.locate([...path, key], 'key'),
                message: `unknown key "${key}"${name ? ` in ${name}` : ''}${didYouMean(key, allowed)}`,
                hint: `allowed keys: ${allowed.join(', ')}`,
            };
        }
        case 'required': {
            const key = String(e.params.missingProperty);
            return { loc: source.locate(path), message: `missing required key "${key}"${name ? ` in ${name}` : ''}` };
        }
        case 'type': {
            const expected = String(e.params.type)
                .split(',')
                .map(typeName)
                .join(' or ');
            // A value of the wrong type (often `mode: 0644` unquoted) gets the field's own wording as a hint.
            const wanted = schema?.['x-message'];
            return {
                loc: source.locate(path),
                message: `${name || whole} must be ${expected}, found ${describe(value)}`,
                ...(wanted !== undefined ? { hint: `${name} ${wanted}` } : {}),
            };
        }
        case 'enum': {
            const allowed = e.params.allowedValues.map(String);
            return {
                loc: source.locate(path),
                message: `${name} must be one of ${allowed.join(', ')}, found ${describe(value)}${typeof value === 'string' ? didYouMean(value, allowed) : ''}`,
            };
        }
        case 'pattern':
            return {
                loc: source.locate(e.propertyName !== undefined ? [...path, e.propertyName] : path, e.propertyName !== undefined ? 'key' : 'value'),
                message: `${e.propertyName !== undefined ? `"${e.propertyName}" in ${name}` : name} ${schema?.['x-message'] ?? `must match ${String(e.params.pattern)}`}, found ${describe(e.propertyName ?? value)}`,
            };
        case 'propertyNames':
            return { loc: source.locate(path), message: `${name} has an invalid key` };
        case 'minimum':
        case 'maximum': {
            const lo = schema?.minimum;
            const hi = schema?.maximum;
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
            return { loc: source.locate(path), message: `${name || whole} ${e.message ?? 'is invalid'}` };
    }
}
function describeAnyOf(schema) {
    const branches = schema?.anyOf ?? [];
    const parts = branches.map((b) => (b.type === 'array' ? 'a list of absolute paths' : 'an absolute path'));
    return parts.join(' or ');
}
function pointerToPath(pointer, data) {
    if (pointer === '')
        return [];
    const segs = pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const out = [];
    let node = data;
    for (const s of segs) {
        const seg = Array.isArray(node) ? Number(s) : s;
        out.push(seg);
        node = node?.[seg];
    }
    return out;
}
/** `steps[2].to`, `squashfs.level`: how a person names a place in the file. */
export function label(path) {
    let out = '';
    for (const s of path)
        out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
    return out === '' ? '' : `"${out}"`;
}
function typeName(t) {
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
export function describe(v) {
    if (v === null || v === undefined)
        return 'nothing';
    if (Array.isArray(v))
        return 'a list';
    if (typeof v === 'object')
        return 'a mapping';
    if (typeof v === 'string')
        return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
    return JSON.stringify(v);
}
//# sourceMappingURL=validate.js.map