// What the booted machine says on its serial console, collected: the lines of the boot
// protocol (boot/init-script.ts) found among the kernel's and the root's own output, with the
// host's clock, and a tail of everything else for error messages. Pure (the clock is passed in).
// Everything here comes from the booted stack, which is not trusted: a check's output is
// decoded to text with its control characters made visible, like every console line.
import { printable } from '../process/run.js';
const TAIL_LINES = 40;
export class ConsoleLog {
    checks;
    startedAt;
    /** The init the initramfs found: `systemd`, another program's path, or `none`. */
    init;
    /** Why the initramfs gave up, when it did. */
    fatal;
    /** Seconds from the machine's start to the check runner's start. */
    bootSeconds;
    results = [];
    /** The check that began and has not ended (a hang names it). */
    running;
    done = false;
    tail = [];
    began = 0;
    out = new Map();
    marker;
    constructor(nonce, checks, startedAt) {
        this.checks = checks;
        this.startedAt = startedAt;
        this.marker = `@@${nonce} `;
    }
    /** One line of console output, seen at `now` (ms). */
    line(text, now) {
        const at = text.indexOf(this.marker);
        if (at < 0) {
            if (text.trim() !== '')
                this.keep(text);
            return;
        }
        if (at > 0 && text.slice(0, at).trim() !== '')
            this.keep(text.slice(0, at));
        const [event = '', ...args] = text.slice(at + this.marker.length).trim().split(' ');
        const n = Number(args[0]);
        switch (event) {
            case 'fail':
                this.fatal = args.join(' ');
                this.keep(`sqsh-boot: ${this.fatal}`);
                break;
            case 'init':
                this.init = args.join(' ');
                this.keep(`sqsh-boot: init ${this.init}`);
                break;
            case 'ready':
                this.bootSeconds = (now - this.startedAt) / 1000;
                this.keep(`sqsh-boot: up after ${this.bootSeconds.toFixed(1)} s, running ${this.checks.length} check(s)`);
                break;
            case 'begin':
                this.keep(`sqsh-boot: check ${n} started: ${this.checks[n - 1]?.command ?? '?'}`);
                this.running = n;
                this.began = now;
                this.out.set(n, []);
                break;
            case 'out':
                this.out.get(n)?.push(args[1] ?? '');
                break;
            case 'end': {
                const check = this.checks[n - 1];
                if (check === undefined)
                    break;
                const decoded = Buffer.from((this.out.get(n) ?? []).join(''), 'base64').toString('utf8');
                // Escape sequences in it would reach the user's terminal (titles, clipboard, screen).
                const output = decoded.split('\n').map(printable).join('\n');
                this.results.push({ index: n, ...check, exitCode: Number(args[1]), seconds: (now - this.began) / 1000, output });
                this.keep(`sqsh-boot: check ${n} ended with exit code ${args[1]}`);
                this.running = undefined;
                break;
            }
            case 'done':
                this.done = true;
                break;
            default:
                this.keep(text);
        }
    }
    /** The last lines of console output that were not protocol. */
    lastLines() {
        return [...this.tail];
    }
    keep(line) {
        // Colours of systemd's status lines, as Runner shows escape characters (`\x1b[0;32m`).
        this.tail.push(line.replace(/\\x1b\[[0-9;?]*[A-Za-z]/g, ''));
        if (this.tail.length > TAIL_LINES)
            this.tail.shift();
    }
}
//# sourceMappingURL=console.js.map