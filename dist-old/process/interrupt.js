// SIGINT, SIGTERM and SIGHUP become an aborted signal that every running command and loop
// watches; cleanup then runs in `finally` blocks and the exit code says what happened.
import { FailureError, failureOf } from '../failure.js';
/**
 * Turns the first SIGINT, SIGTERM or SIGHUP (a closed terminal: without it node would die
 * with mounts in place) into an abort; later ones only remind that cleanup is running.
 */
export function trapInterrupts(io) {
    const ac = new AbortController();
    const handler = (sig) => {
        if (ac.signal.aborted)
            io.stderr.write('sqsh-layers: cleaning up, please wait...\n');
        else
            ac.abort(sig);
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const sig of signals)
        process.on(sig, handler);
    return {
        signal: ac.signal,
        dispose() {
            for (const sig of signals)
                process.off(sig, handler);
        },
    };
}
/**
 * Runs `work` with interrupts trapped (see trapInterrupts) and settles how it ended: its
 * result, or the Failure thrown once `work` has returned, so that its cleanup (unmounting,
 * in its own `finally`) is done before main.ts reports anything. An interrupt wins over
 * whatever the work came to (see classify).
 */
export async function whileTrapped(io, work) {
    const interrupts = trapInterrupts(io);
    let failure;
    let result;
    try {
        result = await work(interrupts.signal);
        failure = classify(interrupts.signal);
    }
    catch (err) {
        failure = classify(interrupts.signal, err);
    }
    finally {
        interrupts.dispose();
    }
    if (failure)
        throw new FailureError(failure);
    return result;
}
export function classify(signal, ...thrown) {
    if (signal?.aborted)
        return { reason: 'interrupted', signal: signal.reason };
    return thrown.length === 0 ? undefined : failureOf(thrown[0]);
}
/** Stops the work when the run was asked to stop; long loops call it between items. */
export function checkInterrupted(signal) {
    const stop = classify(signal);
    if (stop)
        throw new FailureError(stop);
}
/**
 * For long walks made of plain system calls, which never give the event loop a turn (so a
 * SIGINT handler could not run until they end): every `every` calls of the function it
 * returns, lets the loop run, then stops the work if the run was asked to stop.
 */
export function breather(signal, every = 1024) {
    let n = 0;
    return async () => {
        if (++n % every !== 0)
            return;
        await new Promise((resolve) => setImmediate(resolve));
        checkInterrupted(signal);
    };
}
//# sourceMappingURL=interrupt.js.map