// What a step gets to do its work: the merged root, the layer's upper dir, scratch space in
// the same tmpfs, the command runner and the sandboxes. Steps ask for work through these
// instead of mounting or spawning on their own.
import { failureIn, FailureError, howItEnded } from '../failure.js';
/** A step failed in a way the user must fix; the builder adds the layer and step. */
export function stepFailure(message, tail = []) {
    return new FailureError({ reason: 'step', message, tail });
}
/**
 * A step's command failure told as `what` ended (the user's script, hook or tool), not the
 * sandbox or `unshare` around it, its output tail without the `noise` lines; other errors as
 * they are.
 */
export function asStepFailure(err, what, noise) {
    const failed = failureIn(err, 'command');
    return failed ? stepFailure(`${what} ${howItEnded(failed)}`, failed.tail.filter((l) => !noise?.test(l))) : err;
}
//# sourceMappingURL=context.js.map