import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { collect } from '../options.js';
import type { Progress } from './backend.js';
import { loadProject } from './loader.js';
import type { Project } from './model.js';

export interface ProjectFlags {
  file?: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile?: string[];
  profile?: string[];
  ansi?: string;
  progress?: string;
}

/** `docker compose`'s own flags, given before the sub-command. */
export function addProjectFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <file>', 'Compose configuration files', collect)
    .option('-p, --project-name <name>', 'Project name')
    .option('--project-directory <dir>', 'Specify an alternate working directory')
    .option('--env-file <file>', 'Specify an alternate environment file', collect)
    .option('--profile <profile>', 'Specify a profile to enable', collect)
    .option(
      '--ansi <mode>',
      'Control when to print ANSI control characters ("never"|"always"|"auto")',
      'auto',
    )
    .option('--progress <mode>', 'Set type of progress output (auto, tty, plain, json, quiet)', 'auto')
    .option('--parallel <n>', 'Control max parallelism, -1 for unlimited', '-1');
}

/** The compose command above a sub-command. */
function composeOf(cmd: Command): Command {
  let c: Command = cmd;
  while (c.parent && c.name() !== 'compose') c = c.parent;
  return c;
}

export function projectFlagsOf(cmd: Command): ProjectFlags {
  return composeOf(cmd).opts<ProjectFlags>();
}

export function loadFromFlags(ctx: CliContext, cmd: Command): Project {
  const flags = projectFlagsOf(cmd);
  return loadProject({
    files: flags.file ?? [],
    ...(flags.projectName !== undefined ? { projectName: flags.projectName } : {}),
    ...(flags.projectDirectory !== undefined ? { projectDirectory: flags.projectDirectory } : {}),
    envFiles: flags.envFile ?? [],
    profiles: flags.profile ?? [],
    env: ctx.io.env,
    cwd: process.cwd(),
  });
}

/**
 * The project name for commands that work without files (`down -p x`, `ps -p x`): the
 * flag or environment when given, else the loaded project's.
 */
export function projectNameOnly(ctx: CliContext, cmd: Command): { name: string; project?: Project } {
  const flags = projectFlagsOf(cmd);
  try {
    const project = loadFromFlags(ctx, cmd);
    return { name: project.name, project };
  } catch (e) {
    const name = flags.projectName ?? ctx.io.env.COMPOSE_PROJECT_NAME;
    if (name !== undefined && (flags.file ?? []).length === 0) return { name };
    throw e;
  }
}

export function useColour(ctx: CliContext, cmd: Command): boolean {
  const mode = projectFlagsOf(cmd).ansi;
  if (mode === 'never') return false;
  if (mode === 'always') return true;
  return ctx.io.stdout.isTTY === true && ctx.io.env.NO_COLOR === undefined;
}

/** Plain progress: one line per step on stderr, as `--progress plain` prints it. */
export function progressOf(ctx: CliContext, cmd: Command): Progress {
  const mode = projectFlagsOf(cmd).progress;
  if (mode === 'quiet') return () => undefined;
  // Service-level steps (pulls) have no kind: Compose names just the service, ` web Pulled`.
  return (kind, name, status) =>
    ctx.err(kind === '' ? ` ${name} ${status}\n` : ` ${kind} ${name}  ${status}\n`);
}
