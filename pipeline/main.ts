/**
 * The `vgmflow` command line. Errors in the user's input print one line and exit 1;
 * misuse of the command line prints one line and a pointer to --help and exits 2.
 */
import { InputError } from './jobs/input-error';
import { accessFailure } from '../topics/kafka/errors';
import { UsageError, type Command } from './cli/command';
import { fitCommand } from './cli/commands/fit';
import { inverseCommand } from './cli/commands/inverse';
import { transformCommand } from './cli/commands/transform';
import { demoCommand } from './cli/commands/demo';
import { produceCommand } from './cli/commands/produce';
import { stageCommand } from './cli/commands/stage';
import { redactProcessOutput, registerEnvSecrets } from './cli/redacted-output';

export const COMMANDS: readonly Command[] = [demoCommand, fitCommand, transformCommand, inverseCommand, produceCommand, stageCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return (
    'Usage: vgmflow <command> [options]\n\n' +
    'Mode-specific normalisation (CTAB-GAN / CTGAN) with variational Gaussian mixtures.\n\nCommands:\n' +
    COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}\n`).join('') +
    '\nRun `vgmflow <command> --help` for the options of a command.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  // First of all: no secret of the environment or of a file a command reads reaches the output.
  registerEnvSecrets(process.env);
  redactProcessOutput();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`vgmflow: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vgmflow ${command.name}: ${err.message}\nRun \`vgmflow ${command.name} --help\` for usage.\n`);
      return 2;
    }
    if (err instanceof InputError) {
      process.stderr.write(`vgmflow ${command.name}: ${err.message}\n`);
      return 1;
    }
    // Wrong credentials or an untrusted certificate: a configuration to fix, said as such.
    const access = accessFailure(err);
    if (access !== undefined) {
      process.stderr.write(`vgmflow ${command.name}: ${access}\n`);
      return 1;
    }
    throw err;
  }
}
