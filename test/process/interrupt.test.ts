import { describe, expect, it } from 'vitest';
import { FailureError } from '../../src/failure.js';
import { breather, checkInterrupted, classify } from '../../src/process/interrupt.js';

function interrupted(signal: NodeJS.Signals): AbortSignal {
  const ac = new AbortController();
  ac.abort(signal);
  return ac.signal;
}

const killed = new FailureError({ reason: 'command', argv: ['tar'], exitCode: null, signal: 'SIGTERM', tail: [] });

describe('classify: a failure after an interrupt counts as the interrupt', () => {
  it('leaves a run that was not interrupted alone', () => {
    const signal = new AbortController().signal;
    expect(classify(signal)).toBeUndefined();
    expect(classify(undefined)).toBeUndefined();
    expect(classify(signal, killed)).toEqual(killed.failure);
    const bug = new TypeError('x is undefined');
    expect(classify(signal, bug)).toEqual({ reason: 'unexpected', error: bug });
  });

  it('makes any failure after an interrupt the interrupt: a killed command, an aborted read, a bug', () => {
    for (const error of [killed, Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }), new TypeError('x')]) {
      expect(classify(interrupted('SIGTERM'), error)).toEqual({ reason: 'interrupted', signal: 'SIGTERM' });
    }
  });

  it('makes even success after an interrupt the interrupt', () => {
    expect(classify(interrupted('SIGINT'))).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
  });

  it('stops a loop between items', () => {
    expect(() => checkInterrupted(new AbortController().signal)).not.toThrow();
    const err = (() => {
      try {
        checkInterrupted(interrupted('SIGINT'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).failure).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
  });
});

describe('breather', () => {
  it('gives the event loop a turn every N calls (a signal handler runs) and stops the walk once interrupted', async () => {
    const ac = new AbortController();
    const pause = breather(ac.signal, 10);
    // What a SIGINT handler does, waiting for the loop to get a turn.
    setImmediate(() => ac.abort('SIGINT'));
    let calls = 0;
    const walk = async () => {
      for (;;) {
        calls++;
        await pause();
      }
    };
    const err = await walk().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).failure).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
    expect(calls).toBe(10);
  });
});
