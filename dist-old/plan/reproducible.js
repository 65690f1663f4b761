// Which layers rebuild to the same bytes without a source-date-epoch. A layer whose steps only
// bring in inputs (restore, untar, copy, remove) gets its times from them: the build clamps the
// times its own clock made to the newest input time (finalize.ts), so it is reproducible by
// default. `run` and `host` steps make files at build time, with times and content (logs,
// caches, generated keys) of their own: only a source-date-epoch can pin those.
/** Whether a step kind's result is a function of the step's inputs and the lowers alone. */
const FROM_INPUTS = {
    restore: true,
    untar: true,
    copy: true,
    remove: true,
    run: false,
    host: false,
};
export function reproducibleFromInputs(recipe) {
    return recipe.steps.every((step) => FROM_INPUTS[step.kind]);
}
/**
 * One warning for the layers (in order) whose bytes change on every rebuild because nothing
 * pins their times; undefined when a source-date-epoch is set or no layer is concerned.
 */
export function clockWarning(recipes, sourceDateEpoch) {
    if (sourceDateEpoch !== undefined)
        return undefined;
    const names = recipes.filter((r) => !reproducibleFromInputs(r)).map((r) => r.name);
    if (names.length === 0)
        return undefined;
    const which = names.length === 1 ? `layer ${names[0]} uses` : `layers ${names.join(', ')} use`;
    return (`${which} run or host steps: without a source-date-epoch ${names.length === 1 ? 'it is' : 'they are'} not reproducible ` +
        '(new bytes on every rebuild, so every child rebuilds too); set source-date-epoch in sqsh-layers.yaml or SOURCE_DATE_EPOCH');
}
//# sourceMappingURL=reproducible.js.map