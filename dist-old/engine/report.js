// What the build tells its user, as events; the CLI renders them (a live task list on a
// terminal, plain prefixed lines otherwise, nothing but the result with --json).
export {};
//# sourceMappingURL=report.js.map