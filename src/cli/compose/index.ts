/**
 * `berth compose`: Docker Compose v2's commands, client-side, talking to the daemon
 * only through the API client.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import {
  defineConfig,
  defineEvents,
  defineImages,
  defineLogs,
  defineLs,
  definePort,
  definePs,
  defineTop,
  defineVersion,
} from './info.js';
import { defineCreate, defineDown, defineRm, defineUp, defineVerb } from './lifecycle.js';
import { addProjectFlags } from './project-options.js';
import { defineBuild, defineCp, defineExec, definePull, definePush, defineRun } from './run.js';

export function registerComposeCommands(program: Command, ctx: CliContext): void {
  const compose = addProjectFlags(
    program
      .command('compose')
      .description('Define and run multi-container applications')
      .enablePositionalOptions(),
  );
  const commands: [string, (cmd: Command, ctx: CliContext) => Command][] = [
    ['up', defineUp],
    ['down', defineDown],
    ['create', defineCreate],
    ['ps', definePs],
    ['logs', defineLogs],
    ['exec', defineExec],
    ['run', defineRun],
    ['build', defineBuild],
    ['pull', definePull],
    ['push', definePush],
    ['config', defineConfig],
    ['rm', defineRm],
    ['top', defineTop],
    ['port', definePort],
    ['images', defineImages],
    ['ls', defineLs],
    ['events', defineEvents],
    ['cp', defineCp],
    ['version', defineVersion],
  ];
  for (const [name, define] of commands) define(compose.command(name), ctx);
  for (const verb of ['start', 'stop', 'restart', 'kill', 'pause', 'unpause'])
    defineVerb(compose.command(verb), ctx, verb);
}
