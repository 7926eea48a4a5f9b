/** Images for services: pull what is missing, build what has a build section. */
import type { Command } from 'commander';
import { NotFoundError } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { buildImage } from './build.js';
import { imageOf } from './convert.js';
import type { Project, ServiceConfig } from './model.js';
import { ProjectError } from './model.js';
import { progressOf } from './project-options.js';

export interface ImageNeeds {
  build: boolean;
  noBuild: boolean;
  pull?: string | undefined;
}

async function exists(ctx: CliContext, image: string): Promise<boolean> {
  try {
    await ctx.client().images.inspect(image);
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

export async function pullImage(
  ctx: CliContext,
  cmd: Command,
  service: ServiceConfig,
  image: string,
): Promise<void> {
  const progress = progressOf(ctx, cmd);
  // As Compose v2 does, progress names the service, not its image.
  progress('', service.name, 'Pulling');
  for await (const message of await ctx.client().registry.pull(image)) {
    if (message.error !== undefined || message.errorDetail !== undefined)
      throw new ProjectError(
        `${service.name} Error ${message.error ?? message.errorDetail?.message ?? ''}`.trim(),
      );
  }
  progress('', service.name, 'Pulled');
}

/** Builds one service's image through `POST /build`, as `compose build` does. */
export async function buildService(
  ctx: CliContext,
  cmd: Command,
  project: Project,
  service: ServiceConfig,
): Promise<void> {
  if (service.build === undefined) return;
  await buildImage(ctx, progressOf(ctx, cmd), imageOf(project, service), service.build);
}

/** Every selected service gets its image before any container is created. */
export async function ensureImages(
  ctx: CliContext,
  cmd: Command,
  project: Project,
  services: ServiceConfig[],
  needs: ImageNeeds,
): Promise<void> {
  for (const service of services) {
    const image = imageOf(project, service);
    if (service.build !== undefined && needs.build) {
      await buildService(ctx, cmd, project, service);
      continue;
    }
    if (needs.pull === 'always' && service.image !== undefined) {
      await pullImage(ctx, cmd, service, image);
      continue;
    }
    if (await exists(ctx, image)) continue;
    if (service.build !== undefined && !needs.noBuild) {
      await buildService(ctx, cmd, project, service);
      continue;
    }
    if (needs.pull === 'never') throw new ProjectError(`No such image: ${image}`);
    await pullImage(ctx, cmd, service, image);
  }
}
