// Recipes as loaded last time, kept in the cache dir (recipes.json): parsing and validating a
// thousand YAML files is most of what a no-op build or a plan of a fleet costs, and their text
// rarely changes. An entry is used only for the very same text, the same project dir and
// settings, and the same build of this tool; anything else is parsed again. Only recipes that
// loaded without a problem are kept, so diagnostics always come from a real parse.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAtomic } from '../cache/atomic-write.js';
const FORMAT = 1;
export const PARSED_RECIPES_FILE = 'recipes.json';
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
    }
    catch {
        return `unknown ${Math.random()}`; // never matches: no cache
    }
})();
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
export class ParsedRecipes {
    file;
    context;
    known;
    dirty = false;
    fresh = {};
    constructor(file, context, known) {
        this.file = file;
        this.context = context;
        this.known = known;
    }
    /** The cache of a project (never fails: an unreadable file is an empty cache). */
    static open(config) {
        const file = path.join(config.cacheDir, PARSED_RECIPES_FILE);
        const context = sha256(JSON.stringify({ format: FORMAT, tool: TOOL_BUILD, config }));
        let known = {};
        try {
            const data = JSON.parse(readFileSync(file, 'utf8'));
            if (data.format === FORMAT && data.context === context && data.entries && typeof data.entries === 'object')
                known = data.entries;
        }
        catch {
            // Missing or unreadable: it is only a cache.
        }
        return new ParsedRecipes(file, context, known);
    }
    /** The recipe of this file as loaded before from the very same text, if it was. */
    get(file, text) {
        const hit = this.known[file];
        if (!hit || hit.text !== sha256(text))
            return undefined;
        this.fresh[file] = hit;
        return hit;
    }
    /** Keeps a recipe that loaded without a problem. */
    put(file, text, parsed) {
        this.fresh[file] = { ...parsed, text: sha256(text) };
        this.dirty = true;
    }
    /**
     * Writes what this load used (recipes removed since are forgotten); best effort, and only
     * into a cache dir that exists (loading a project that never built creates nothing).
     */
    async save() {
        if (!this.dirty && Object.keys(this.fresh).length === Object.keys(this.known).length)
            return;
        if (!existsSync(path.dirname(this.file)))
            return;
        const data = { format: FORMAT, context: this.context, entries: this.fresh };
        await writeAtomic(this.file, JSON.stringify(data)).catch(() => { });
    }
}
//# sourceMappingURL=parsed-cache.js.map