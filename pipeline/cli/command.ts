/** The shape of a CLI command, and the error for a misuse of one. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full --help text. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** A misuse of the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}
