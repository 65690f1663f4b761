// Loads a layer project: sqsh-layers.yaml and every recipes/*.yaml, validated and typed.
// Every problem of every file is collected; nothing stops at the first.

import { accessSync, constants, promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Diagnostic, fileLoc } from './diagnostic.js';
import { isLayerName, LAYER_NAME_MAX } from './layer-name.js';
import { type Peeked, ParsedRecipes } from './parsed-cache.js';
import { buildRecipe, buildProjectConfig, type InputCheck } from './recipe-model.js';
import type { Loc, Project, ProjectConfig, Recipe } from './types.js';
import type { YamlSource } from './yaml-source.js';

/**
 * The YAML parser and the validators, loaded when a file is to be parsed: a project whose
 * recipes are all as loaded before (parsed-cache.ts), with no sqsh-layers.yaml, needs neither.
 */
const parsing = async () => {
  const [{ YamlSource }, { validateProjectConfigData, validateRecipeData }] = await Promise.all([import('./yaml-source.js'), import('./validate.js')]);
  return { YamlSource, validateProjectConfigData, validateRecipeData };
};

export const RECIPES_DIR = 'recipes';
export const PROJECT_FILE = 'sqsh-layers.yaml';

export interface LoadResult {
  /** Set when there are no diagnostics. */
  project: Project | undefined;
  /** The recipes that are valid on their own (even when others are not), for graph checks. */
  recipes: Map<string, Recipe>;
  /** Every recipe file's layer name, valid or not. */
  names: Set<string>;
  /** The parent each recipe file names, where it could be read (also of recipes that did not load). */
  parents: Map<string, { name: string; loc: Loc }>;
  diagnostics: Diagnostic[];
  /** File texts by project-relative path, for showing excerpts. */
  sources: Map<string, string>;
}

export interface LoadOptions {
  /** Check that input files exist and have the right type (build and plan do; cmdline does not). */
  checkInputs: boolean;
  /** Overrides the cache directory of the project file (--cache). */
  cacheDir?: string;
  /**
   * Keeps the recipes as loaded in the cache dir for the next run (parsed-cache.ts): build
   * does; read-only commands (plan, --dry-run) only use what is there.
   */
  remember?: boolean;
}

export async function loadProject(dir: string, opts: LoadOptions): Promise<LoadResult> {
  const projectDir = path.resolve(dir);
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();

  const { config, peeked } = await loadConfig(projectDir, sources, diagnostics, opts);

  const recipesAbs = path.join(projectDir, RECIPES_DIR);
  let entries: string[];
  try {
    entries = (await fs.readdir(recipesAbs)).sort();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    diagnostics.push({
      loc: fileLoc(`${RECIPES_DIR}/`),
      message: `the recipes directory ${why}`,
      hint: `a project holds one recipes/NAME.yaml per layer; run with -C DIR to point at another project (here: ${projectDir})`,
    });
    return { project: undefined, recipes: new Map(), names: new Set(), parents: new Map(), diagnostics, sources };
  }

  const names = new Set(entries.filter((e) => e.endsWith('.yaml')).map((e) => e.slice(0, -'.yaml'.length)));
  const recipes = new Map<string, Recipe>();
  const parents = new Map<string, { name: string; loc: Loc }>();
  const files = entries.filter((e) => e.endsWith('.yaml') || e.endsWith('.yml'));
  if (files.length === 0) {
    diagnostics.push({ loc: fileLoc(`${RECIPES_DIR}/`), message: 'no recipes: recipes/ holds no NAME.yaml file' });
  }
  const checks: InputCheck[] = [];
  const parsedBefore = config ? ParsedRecipes.open(config, peeked) : undefined;
  for (const entry of files) {
    const file = `${RECIPES_DIR}/${entry}`;
    if (entry.endsWith('.yml')) {
      diagnostics.push({ loc: fileLoc(file), message: 'recipe files end in ".yaml"', hint: `rename it to ${file.slice(0, -4)}.yaml` });
      continue;
    }
    const name = entry.slice(0, -'.yaml'.length);
    let text: string;
    try {
      // Sync: a recipe is a few hundred bytes, and a promise read costs four thread-pool round
      // trips (open, fstat, read, close): the bulk of loading a 1,000-recipe project.
      text = readFileSync(path.join(projectDir, file), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EISDIR' ? 'is a directory' : code === 'ENOENT' ? 'is a dangling symlink' : `cannot be read (${code ?? String(err)})`;
      diagnostics.push({ loc: fileLoc(file), message: `${file} ${why}, not a recipe file` });
      continue;
    }
    sources.set(file, text);
    // A bad name is reported, and the file is still checked so all its problems show at once.
    const badName = !isLayerName(name);
    if (badName) {
      diagnostics.push({
        loc: fileLoc(file),
        message: `bad layer name "${name}": a name is 1 to ${LAYER_NAME_MAX} characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit`,
        hint: 'the name goes into file names and into the colon-separated sqsh_layers= kernel parameter',
      });
    }
    const known = badName ? undefined : parsedBefore?.get(file, text);
    if (known) {
      if (known.parent) parents.set(name, known.parent);
      checks.push(...known.inputs);
      recipes.set(name, known.recipe);
      continue;
    }
    const { YamlSource, validateRecipeData } = await parsing();
    const parsed = YamlSource.parse(file, text);
    if (parsed.diagnostics.length > 0) {
      diagnostics.push(...parsed.diagnostics);
      continue;
    }
    const parent = (parsed.data as { parent?: unknown } | null)?.parent;
    if (!badName && typeof parent === 'string' && isLayerName(parent)) {
      parents.set(name, { name: parent, loc: parsed.source.locate(['parent']) });
    }
    const problems = validateRecipeData(parsed.data, parsed.source);
    if (problems.length > 0 || !config) {
      diagnostics.push(...problems);
      continue;
    }
    const built = buildRecipe(name, parsed.data as Record<string, unknown>, parsed.source, config);
    diagnostics.push(...built.diagnostics);
    checks.push(...built.inputs);
    if (built.diagnostics.length === 0 && !badName) {
      recipes.set(name, built.recipe);
      parsedBefore?.put(file, text, { recipe: built.recipe, inputs: built.inputs, parent: parents.get(name) });
    }
  }
  if (opts.remember) await parsedBefore?.save();

  if (opts.checkInputs) diagnostics.push(...checkInputs(checks));
  const project = config && diagnostics.length === 0 ? { config, recipes } : undefined;
  return { project, recipes, names, parents, diagnostics, sources };
}

async function loadConfig(
  projectDir: string,
  sources: Map<string, string>,
  diagnostics: Diagnostic[],
  opts: LoadOptions,
): Promise<{ config: ProjectConfig | undefined; peeked: Peeked }> {
  let text: string | undefined;
  try {
    text = await fs.readFile(path.join(projectDir, PROJECT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) sources.set(PROJECT_FILE, text);
  const peeked = ParsedRecipes.peek(projectDir, opts.cacheDir, text);
  if (peeked.config) return { config: peeked.config, peeked };
  let data: Record<string, unknown> = {};
  let source: YamlSource | undefined;
  if (text !== undefined) {
    const { YamlSource, validateProjectConfigData } = await parsing();
    const parsed = YamlSource.parse(PROJECT_FILE, text);
    source = parsed.source;
    const problems = parsed.diagnostics.length > 0 ? parsed.diagnostics : validateProjectConfigData(parsed.data, parsed.source);
    if (problems.length > 0) {
      diagnostics.push(...problems);
      return { config: undefined, peeked };
    }
    data = (parsed.data ?? {}) as Record<string, unknown>;
  }
  const built = buildProjectConfig(projectDir, text === undefined ? undefined : PROJECT_FILE, data, source, opts.cacheDir);
  diagnostics.push(...built.diagnostics);
  return { config: built.diagnostics.length === 0 ? built.config : undefined, peeked };
}

/** Plain system calls: a thousand recipes' inputs through the thread pool wait more than they work. */
function checkInputs(checks: InputCheck[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of checks) {
    let st;
    try {
      st = statSync(c.input.abs);
    } catch {
      out.push({ loc: c.input.loc, message: `missing input: ${c.input.path} does not exist` });
      continue;
    }
    if (c.expect === 'file' && !st.isFile()) {
      out.push({ loc: c.input.loc, message: `${c.input.path} must be a file, found ${st.isDirectory() ? 'a directory' : 'a special file'}` });
    } else if (c.expect === 'file-or-dir' && !st.isFile() && !st.isDirectory()) {
      out.push({ loc: c.input.loc, message: `${c.input.path} must be a file or a directory` });
    } else if (c.expect === 'executable') {
      if (!st.isFile()) {
        out.push({ loc: c.input.loc, message: `${c.input.path} must be an executable file` });
      } else {
        try {
          accessSync(c.input.abs, constants.X_OK);
          if ((st.mode & 0o111) === 0) throw new Error('no x bit');
        } catch {
          out.push({ loc: c.input.loc, message: `${c.input.path} is not executable`, hint: `chmod +x ${c.input.path}` });
        }
      }
    }
  }
  return out;
}
