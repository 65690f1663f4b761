// Loading a project for a command: recipes, project defaults and the layer graph, with
// every problem of every file reported at once (exit code 2) before anything else runs.
import { FailureError } from '../failure.js';
import { buildGraph } from '../plan/graph.js';
import { sortDiagnostics } from '../recipe/diagnostic.js';
import { loadProject } from '../recipe/load.js';
export async function openProject(dir, o) {
    const loaded = await loadProject(dir, o);
    const diagnostics = [...loaded.diagnostics];
    // Graph problems (unknown parents, cycles) are reported with the file problems, over the recipes that loaded.
    const broken = new Map([...loaded.names].filter((n) => !loaded.recipes.has(n)).map((n) => [n, { parent: loaded.parents.get(n) }]));
    const g = buildGraph(loaded.recipes, broken);
    diagnostics.push(...g.diagnostics);
    const graph = g.graph;
    if (diagnostics.length > 0 || !loaded.project || !graph) {
        throw new FailureError({ reason: 'recipe', diagnostics: sortDiagnostics(diagnostics), sources: loaded.sources });
    }
    return { project: loaded.project, graph };
}
//# sourceMappingURL=project.js.map