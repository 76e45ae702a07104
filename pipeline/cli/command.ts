/** The shape of a CLI command, and the error for a misuse of one. */
import type { ParseArgsConfig } from 'util';

/** The options a command parses (besides --help), as util.parseArgs takes them. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full --help text. */
  readonly help: string;
  /** Every option the command takes besides --help; each is described in `help`. */
  readonly options: CommandOptions;
  run(argv: string[]): Promise<number>;
}

/** A misuse of the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}
