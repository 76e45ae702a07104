/** An error in the user's input, reported as one line naming the file, row and column. */
export class InputError extends Error {}

export function describeRow(file: string, line: number, column: string | null): string {
  return column === null ? `${file}, line ${line}` : `${file}, line ${line}, column ${column}`;
}
