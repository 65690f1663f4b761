// Recipes as loaded last time, kept in the cache dir (recipes.json): parsing and validating a
// thousand YAML files is most of what a no-op build or a plan of a fleet costs, and their text
// rarely changes. An entry is used only for the very same text, the same project dir and
// settings, and the same build of this tool; anything else is parsed again. Only recipes that
// loaded without a problem are kept, so diagnostics always come from a real parse.
// The project settings (sqsh-layers.yaml) are kept the same way: with them and every recipe
// known, a no-op build loads neither the YAML parser nor the validators (20-50 ms on a small
// machine, of the 130-200 a no-op build of four layers takes).
// They are looked up in the cache dir the settings would have without a `cache:` key of
// their own; a project that moves its cache dir parses its settings every time.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAtomic } from '../cache/atomic-write.js';
import { DEFAULT_CACHE_DIR, type InputCheck } from './recipe-model.js';
import type { Loc, ProjectConfig, Recipe } from './types.js';

const FORMAT = 2;
export const PARSED_RECIPES_FILE = 'recipes.json';

export interface ParsedRecipe {
  recipe: Recipe;
  inputs: InputCheck[];
  parent: { name: string; loc: Loc } | undefined;
}

interface Stored extends ParsedRecipe {
  /** sha256 of the file's text. */
  text: string;
}

interface FileData {
  format: number;
  /** What the settings below were loaded from (Peeked.configKey). */
  configKey?: string;
  config?: ProjectConfig;
  /** What else the loaded recipes depend on: this tool's build, the project dir and settings. */
  context: string;
  entries: Record<string, Stored>;
}

/** What the cache file of a project holds, read before its settings are known. */
export interface Peeked {
  file: string;
  data: FileData | undefined;
  /** The key of the settings as they are now. */
  configKey: string;
  /** The settings, when kept from the very same text, dir and --cache. */
  config: ProjectConfig | undefined;
}

/**
 * This build of the recipe loader: the stat of each of its module files (a rebuilt tool may
 * read the same text differently, whatever its version says).
 */
const TOOL_BUILD = (() => {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  try {
    return readdirSync(dir)
      .sort()
      .map((f) => {
        const st = statSync(path.join(dir, f));
        return `${f}:${st.size}:${st.mtimeMs}:${st.ino}`;
      })
      .join('\n');
  } catch {
    return `unknown ${Math.random()}`; // never matches: no cache
  }
})();

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function readData(file: string): FileData | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as FileData;
    if (data.format === FORMAT && data.entries && typeof data.entries === 'object') return data;
  } catch {
    // Missing or unreadable: it is only a cache.
  }
  return undefined;
}

export class ParsedRecipes {
  private dirty = false;
  private readonly fresh: Record<string, Stored> = {};

  private constructor(
    private readonly file: string,
    private readonly context: string,
    private readonly known: Record<string, Stored>,
    private readonly config: { key: string; value: ProjectConfig; fresh: boolean },
  ) {}

  /**
   * The settings of the project in `projectDir` as loaded before from `text` (the content of
   * sqsh-layers.yaml, undefined without one), with --cache `cacheOverride`, if they were
   * (never fails: an unreadable file is an empty cache).
   */
  static peek(projectDir: string, cacheOverride: string | undefined, text: string | undefined): Peeked {
    const file = path.join(path.resolve(projectDir, cacheOverride ?? DEFAULT_CACHE_DIR), PARSED_RECIPES_FILE);
    const data = readData(file);
    const configKey = sha256(JSON.stringify({ format: FORMAT, tool: TOOL_BUILD, projectDir, cacheOverride: cacheOverride ?? null, text: text ?? null }));
    const config = data?.configKey === configKey && data.config && typeof data.config === 'object' ? data.config : undefined;
    return { file, data, configKey, config };
  }

  /** The cache of a project whose settings are `config`, as `peeked` found them. */
  static open(config: ProjectConfig, peeked: Peeked): ParsedRecipes {
    const file = path.join(config.cacheDir, PARSED_RECIPES_FILE);
    const context = sha256(JSON.stringify({ format: FORMAT, tool: TOOL_BUILD, config }));
    const data = file === peeked.file ? peeked.data : readData(file);
    const known = data?.context === context ? data.entries : {};
    const fresh = data?.configKey !== peeked.configKey;
    return new ParsedRecipes(file, context, known, { key: peeked.configKey, value: config, fresh });
  }

  /** The recipe of this file as loaded before from the very same text, if it was. */
  get(file: string, text: string): ParsedRecipe | undefined {
    const hit = this.known[file];
    if (!hit || hit.text !== sha256(text)) return undefined;
    this.fresh[file] = hit;
    return hit;
  }

  /** Keeps a recipe that loaded without a problem. */
  put(file: string, text: string, parsed: ParsedRecipe): void {
    this.fresh[file] = { ...parsed, text: sha256(text) };
    this.dirty = true;
  }

  /**
   * Writes what this load used (recipes removed since are forgotten); best effort, and only
   * into a cache dir that exists (loading a project that never built creates nothing).
   */
  async save(): Promise<void> {
    if (!this.dirty && !this.config.fresh && Object.keys(this.fresh).length === Object.keys(this.known).length) return;
    if (!existsSync(path.dirname(this.file))) return;
    const data: FileData = { format: FORMAT, configKey: this.config.key, config: this.config.value, context: this.context, entries: this.fresh };
    await writeAtomic(this.file, JSON.stringify(data)).catch(() => {});
  }
}
