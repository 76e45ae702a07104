/**
 * The `vgmflow` command line. Errors in the user's input print one line and exit 1;
 * misuse of the command line prints one line and a pointer to --help and exits 2.
 */
import { InputError } from './jobs/input-error';
import { UsageError, type Command } from './cli/command';
import { redactProcessOutput, registerEnvSecrets } from './cli/redacted-output';

/**
 * Each command's module, loaded when the command runs: together they load kafkajs, Apache Arrow
 * and prom-client (a third of a second), which an embedded fit or transform never uses.
 */
const COMMAND_MODULES: Readonly<Record<string, () => Command>> = {
  demo: () => (require('./cli/commands/demo') as typeof import('./cli/commands/demo')).demoCommand,
  fit: () => (require('./cli/commands/fit') as typeof import('./cli/commands/fit')).fitCommand,
  transform: () => (require('./cli/commands/transform') as typeof import('./cli/commands/transform')).transformCommand,
  inverse: () => (require('./cli/commands/inverse') as typeof import('./cli/commands/inverse')).inverseCommand,
  produce: () => (require('./cli/commands/produce') as typeof import('./cli/commands/produce')).produceCommand,
  stage: () => (require('./cli/commands/stage') as typeof import('./cli/commands/stage')).stageCommand,
};

/** Every command, loaded (for the overview, and for tests that check them all). */
export function allCommands(): Command[] {
  return Object.values(COMMAND_MODULES).map((load) => load());
}

function overview(): string {
  const commands = allCommands();
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    'Usage: vgmflow <command> [options]\n\n' +
    'Mode-specific normalisation (CTAB-GAN / CTGAN) with variational Gaussian mixtures.\n\nCommands:\n' +
    commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}\n`).join('') +
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
  const command = Object.hasOwn(COMMAND_MODULES, name) ? (COMMAND_MODULES[name] as () => Command)() : undefined;
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
    // (Loaded here, not up front: it loads kafkajs, which most file commands never need.)
    const { accessFailure } = require('../topics/kafka/errors') as typeof import('../topics/kafka/errors');
    const access = accessFailure(err);
    if (access !== undefined) {
      process.stderr.write(`vgmflow ${command.name}: ${access}\n`);
      return 1;
    }
    throw err;
  }
}
