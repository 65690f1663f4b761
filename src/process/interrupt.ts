// SIGINT and SIGTERM become an aborted signal that every running command and loop
// watches; cleanup then runs in `finally` blocks and the exit code says what happened.

export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export interface InterruptHandle {
  signal: AbortSignal;
  dispose(): void;
}

/** Turns the first SIGINT/SIGTERM into an abort; later ones only remind that cleanup is running. */
export function trapInterrupts(onSecond: (sig: NodeJS.Signals) => void): InterruptHandle {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) onSecond(sig);
    else ac.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Throws Interrupted when the run was asked to stop; long loops call it between items. */
export function checkInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new Interrupted(signal.reason as NodeJS.Signals);
}
