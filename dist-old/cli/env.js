// Settings read from the environment.
import { FailureError } from '../failure.js';
/** SOURCE_DATE_EPOCH, when set: a non-negative integer (seconds since 1970). */
export function sourceDateEpochFromEnv(env) {
    const raw = env.SOURCE_DATE_EPOCH;
    if (raw === undefined || raw === '')
        return undefined;
    if (!/^[0-9]+$/.test(raw)) {
        throw new FailureError({ reason: 'usage', message: `SOURCE_DATE_EPOCH must be a number of seconds since 1970, found "${raw}"` });
    }
    return Number(raw);
}
/** Where run state (mounts) lives; tests point it elsewhere. Its path must say sqsh-layers. */
export function stateRootFromEnv(env) {
    return env.SQSH_LAYERS_RUN_DIR || '/run/sqsh-layers';
}
//# sourceMappingURL=env.js.map