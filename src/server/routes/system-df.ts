import type { ContainerSummary, ImageSummary, VolumeInfo } from '../../api/index.js';
import type { Engine } from '../../engine/index.js';
import type { RequestContext } from '../context.js';
import type { ApiRouter } from '../router.js';
import { containerSummaryOf, imageSummaryOf } from '../wire.js';
import { volumeInfoOf } from './volumes.js';

const TYPES = ['container', 'image', 'volume', 'build-cache'];

interface Usage<T> {
  ActiveCount: number;
  TotalCount: number;
  Reclaimable: number;
  TotalSize: number;
  Items: T[];
}

function usageOf<T>(items: T[], isActive: (item: T) => boolean, sizeOf: (item: T) => number): Usage<T> {
  const active = items.filter(isActive);
  const total = items.reduce((sum, item) => sum + sizeOf(item), 0);
  return {
    ActiveCount: active.length,
    TotalCount: items.length,
    Reclaimable: total - active.reduce((sum, item) => sum + sizeOf(item), 0),
    TotalSize: total,
    Items: items,
  };
}

async function containersOf(engine: Engine): Promise<ContainerSummary[]> {
  return Promise.all(
    engine.containers.list().map(async (record) => {
      const rw = await engine.rootfs.sizeRw(record.id).catch(() => 0);
      const image = await engine.images.resolve(record.imageId).catch(() => undefined);
      return containerSummaryOf(record, { rw, rootFs: rw + (image?.size ?? 0) });
    }),
  );
}

async function imagesOf(engine: Engine): Promise<ImageSummary[]> {
  const records = engine.containers.list();
  const images = await engine.images.list({ all: true });
  return images.map((image) => imageSummaryOf(image, records.filter((r) => r.imageId === image.id).length));
}

async function volumesOf(engine: Engine): Promise<VolumeInfo[]> {
  return Promise.all(
    engine.volumes.list().map(async (volume) => ({
      ...volumeInfoOf(volume),
      UsageData: {
        Size: await engine.volumes.sizeOf(volume.name).catch(() => -1),
        RefCount: engine.volumes.usersOf(volume.name).length,
      },
    })),
  );
}

/**
 * `GET /system/df`: what images, containers, volumes and the build cache hold. Both
 * the lists older clients read (`Images`, `Volumes` ...) and the per-type summaries
 * of API 1.52 (`ImageUsage` ...) are sent; each client reads its own.
 */
async function diskUsage(engine: Engine, ctx: RequestContext): Promise<void> {
  const asked = ctx.query.getAll('type').filter((t) => TYPES.includes(t));
  const wants = (type: string) => asked.length === 0 || asked.includes(type);
  const images = wants('image') ? await imagesOf(engine) : [];
  const containers = wants('container') ? await containersOf(engine) : [];
  const volumes = wants('volume') ? await volumesOf(engine) : [];
  const body: Record<string, unknown> = {
    // Shared layers count once per image here: the image store does not report layers apart.
    LayersSize: images.reduce((sum, image) => sum + image.Size, 0),
    Images: images,
    Containers: containers,
    Volumes: volumes,
    BuildCache: [],
  };
  if (wants('image')) {
    body.ImageUsage = usageOf(
      images,
      (i) => i.Containers > 0,
      (i) => i.Size,
    );
  }
  if (wants('container')) {
    body.ContainerUsage = usageOf(
      containers,
      (c) => c.State === 'running' || c.State === 'paused',
      (c) => c.SizeRw ?? 0,
    );
  }
  if (wants('volume')) {
    body.VolumeUsage = usageOf(
      volumes,
      (v) => (v.UsageData?.RefCount ?? 0) > 0,
      (v) => Math.max(v.UsageData?.Size ?? 0, 0),
    );
  }
  if (wants('build-cache')) {
    // The classic builder's cache entries name images, whose sizes the image totals already count.
    const entries = engine.build.cache.list();
    body.BuildCacheUsage = {
      ActiveCount: 0,
      TotalCount: entries.length,
      Reclaimable: 0,
      TotalSize: 0,
      Items: [],
    };
  }
  ctx.reply.json(200, body);
}

export function addDiskUsageRoutes(router: ApiRouter, engine: Engine): void {
  router.on('GET', '/system/df', (ctx) => diskUsage(engine, ctx));
}
