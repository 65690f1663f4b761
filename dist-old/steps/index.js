// The table of step kinds: the one place that maps a recipe's step to its implementation.
import { copyStep } from './copy.js';
import { hostStep } from './host.js';
import { removeStep } from './remove.js';
import { restoreStep } from './restore.js';
import { runStep } from './run.js';
import { untarStep } from './untar.js';
const table = {
    restore: restoreStep,
    untar: untarStep,
    copy: copyStep,
    run: runStep,
    host: hostStep,
    remove: removeStep,
};
function impl(step) {
    return table[step.kind];
}
export function describeStep(step) {
    return impl(step).describe(step);
}
export function toolsOf(step) {
    return impl(step).tools(step);
}
export function runStepOf(step, ctx) {
    return impl(step).run(step, ctx);
}
//# sourceMappingURL=index.js.map