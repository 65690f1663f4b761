// The typed recipe model: what a `recipes/NAME.yaml` file means once it is validated.
// Every value keeps where it came from so later stages can point back into the file.
export {};
//# sourceMappingURL=types.js.map