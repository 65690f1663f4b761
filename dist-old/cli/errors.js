// Errors that are the user's to fix, with the exit code they deserve (2).
export class UsageError extends Error {
}
//# sourceMappingURL=errors.js.map