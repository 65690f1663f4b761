// The typed recipe model: what a `recipes/NAME.yaml` file means once it is validated.
// Every value keeps where it came from so later stages can point back into the file.

/** A span in a source file; lines and columns are 1-based, `end` is exclusive. */
export interface Loc {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export type Compression = 'gzip' | 'lzo' | 'lz4' | 'xz' | 'zstd';

export interface SquashfsOptions {
  compression: Compression;
  /** Compression level; undefined means the compressor's own default. */
  level: number | undefined;
  /** Block size in bytes (a power of two, 4 KiB .. 1 MiB). */
  blockSize: number;
}

interface StepBase {
  /** Position in `steps`, 0-based. */
  index: number;
  loc: Loc;
}

/** An input file or tree of the project, as written and resolved. */
export interface InputRef {
  /** As written in the recipe. */
  path: string;
  /** Absolute path on the host. */
  abs: string;
  loc: Loc;
}

export interface RestoreStep extends StepBase {
  kind: 'restore';
  input: InputRef;
  to: string;
  replace: boolean;
}

export interface UntarStep extends StepBase {
  kind: 'untar';
  input: InputRef;
  to: string;
  replace: boolean;
}

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyStep extends StepBase {
  kind: 'copy';
  input: InputRef;
  to: string;
  owner: Owner;
  /** Permission bits applied to every copied entry; undefined keeps the source's. */
  mode: number | undefined;
  replace: boolean;
}

export interface RunStep extends StepBase {
  kind: 'run';
  script: string;
  network: boolean;
  env: Record<string, string>;
}

export interface HostStep extends StepBase {
  kind: 'host';
  input: InputRef;
  env: Record<string, string>;
}

export interface RemoveStep extends StepBase {
  kind: 'remove';
  paths: string[];
}

export type Step = RestoreStep | UntarStep | CopyStep | RunStep | HostStep | RemoveStep;
export type StepKind = Step['kind'];

export interface Recipe {
  name: string;
  /** Project-relative path of the recipe file. */
  file: string;
  description: string | undefined;
  parent: string | undefined;
  steps: Step[];
  exclude: string[];
  pruneIdentical: boolean;
  squashfs: SquashfsOptions;
  tmpfsSize: string;
  checks: string[];
  /** Where the top-level keys are, for diagnostics of later stages. */
  locs: { file: Loc; parent?: Loc; steps?: Loc };
}

export interface ProjectConfig {
  /** Absolute project directory. */
  dir: string;
  /** Project-relative path of sqsh-layers.yaml, when present. */
  file: string | undefined;
  squashfs: SquashfsOptions;
  tmpfsSize: string;
  /** Absolute cache directory. */
  cacheDir: string;
  sourceDateEpoch: number | undefined;
  jobs: number | undefined;
  /** Registry repositories (HOST/REPO) of the remote cache; build --cache-from/--cache-to win. */
  cacheFrom: string | undefined;
  cacheTo: string | undefined;
}

/** Everything a project's recipes say, validated. */
export interface Project {
  config: ProjectConfig;
  recipes: Map<string, Recipe>;
}
