import { Command, CommanderError } from 'commander';
import { BERTH_VERSION } from '../api/index.js';
import { type Client, createClient, DEFAULT_HOST } from '../client/index.js';
import { defineAttach, runFailure } from './attach.js';
import { registerBuildCommands } from './build.js';
import { registerComposeCommands } from './compose/index.js';
import { registerContainerOpsCommands } from './container-ops.js';
import { defineKill, defineLogs, defineRm, defineStart, defineStop, defineWait } from './containers.js';
import type { CliContext, CliIo } from './context.js';
import { describeError, exitCodeOf, StatusError } from './errors.js';
import { defineExec } from './exec.js';
import { registerImageCommands } from './images.js';
import { defineInspect } from './inspect.js';
import { registerLifecycleCommands } from './lifecycle.js';
import { registerNetworkCommands } from './network.js';
import { definePs } from './ps.js';
import { registerRegistryCommands } from './registry.js';
import { defineCreate, defineRun } from './run.js';
import { registerSystemCommands } from './system.js';
import { registerVolumeCommands } from './volume.js';

export type { CliIo } from './context.js';

function registerContainerCommands(program: Command, ctx: CliContext): void {
  const top: [string, (cmd: Command, ctx: CliContext) => Command][] = [
    ['ps', definePs],
    ['run', defineRun],
    ['create', defineCreate],
    ['start', defineStart],
    ['stop', defineStop],
    ['kill', defineKill],
    ['rm', defineRm],
    ['logs', defineLogs],
    ['wait', defineWait],
    ['exec', defineExec],
    ['attach', defineAttach],
  ];
  for (const [name, define] of top) define(program.command(name), ctx);

  const container = program.command('container').description('Manage containers');
  registerLifecycleCommands(program, container, ctx);
  definePs(container.command('ls').aliases(['ps', 'list']), ctx);
  for (const [name, define] of top.filter(([n]) => n !== 'ps')) {
    const cmd = container.command(name);
    if (name === 'rm') cmd.aliases(['remove']);
    define(cmd, ctx);
  }
  defineInspect(container.command('inspect'), ctx, 'container');
}

/** The command the user ran (`run` for `berth container run`), which decides exit statuses. */
function commandNameOf(argv: string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  const [first, second] = words;
  if ((first === 'container' || first === 'image') && second !== undefined) return second;
  return first ?? '';
}

function buildProgram(ctx: CliContext, setHost: (host: string) => void): Command {
  const program = new Command('berth')
    .description('A self-sufficient runtime for containers')
    .usage('[OPTIONS] COMMAND')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
    .option('-H, --host <host>', 'Daemon socket to connect to')
    .option(
      '-l, --log-level <string>',
      'Set the logging level ("debug", "info", "warn", "error", "fatal")',
      'info',
    )
    .option('-D, --debug', 'Enable debug mode')
    .version(`berth version ${BERTH_VERSION}`, '-v, --version', 'Print version information and quit')
    .hook('preAction', (root) => {
      const host = root.opts<{ host?: string }>().host;
      if (host !== undefined) setHost(host);
    });
  registerContainerCommands(program, ctx);
  registerContainerOpsCommands(program, ctx);
  defineInspect(program.command('inspect'), ctx);
  registerImageCommands(program, ctx, (cmd) => defineInspect(cmd, ctx, 'image'));
  registerRegistryCommands(program, ctx);
  registerSystemCommands(program, ctx);
  registerVolumeCommands(program, ctx);
  registerBuildCommands(program, ctx);
  registerComposeCommands(program, ctx);
  registerNetworkCommands(program, ctx);
  return program;
}

/** Commander's usage errors exit 125 like docker's flag errors; help and version exit 0. */
function statusOfCommanderError(e: CommanderError): number {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
    return 0;
  if (e.code === 'commander.unknownOption' || e.code === 'commander.optionMissingArgument') return 125;
  if (e.code === 'commander.invalidArgument') return 125;
  return e.exitCode === 0 ? 0 : 1;
}

/**
 * Runs one berth command line and resolves to its exit status. Nothing here touches
 * `process`, so tests run the CLI in-process against a fake daemon.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let host = io.env.BERTH_HOST || DEFAULT_HOST;
  let client: Client | undefined;
  const ctx: CliContext = {
    io,
    client: () => {
      client ??= createClient({ host });
      return client;
    },
    now: io.now ?? Date.now,
    out: (text) => io.stdout.write(text),
    err: (text) => io.stderr.write(text),
  };
  const program = buildProgram(ctx, (h) => {
    host = h;
  });
  const command = commandNameOf(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return statusOfCommanderError(e);
    const reported =
      (command === 'run' || command === 'create') && !(e instanceof StatusError)
        ? runFailure(e, command, 125)
        : e;
    const message = reported instanceof StatusError ? reported.message : describeError(reported);
    if (message !== '') ctx.err(`${message}\n`);
    return exitCodeOf(reported, command);
  } finally {
    client?.close();
  }
}
