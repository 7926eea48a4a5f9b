import { z } from 'zod';
import { InvalidArgumentError } from '../../api/index.js';
import type { Engine, NetworkInfo } from '../../engine/index.js';
import { type RequestContext, readJson } from '../context.js';
import { type Filters, matchesAny, matchesLabels, parseFilters, parseTimestamp } from '../filters.js';
import type { ApiRouter } from '../router.js';

const createSchema = z.looseObject({
  Name: z.string().min(1),
  Driver: z.string().optional(),
  Internal: z.boolean().optional(),
  Attachable: z.boolean().optional(),
  EnableIPv6: z.boolean().nullable().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
  Options: z.record(z.string(), z.string()).nullable().optional(),
  IPAM: z
    .looseObject({
      Driver: z.string().optional(),
      Config: z
        .array(
          z.looseObject({
            Subnet: z.string().optional(),
            Gateway: z.string().optional(),
            IPRange: z.string().optional(),
          }),
        )
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

const endpointSchema = z
  .looseObject({
    IPAMConfig: z
      .looseObject({ IPv4Address: z.string().optional(), IPv6Address: z.string().optional() })
      .nullable()
      .optional(),
    Aliases: z.array(z.string()).nullable().optional(),
    MacAddress: z.string().optional(),
  })
  .nullable()
  .optional();

const connectSchema = z.looseObject({ Container: z.string().min(1), EndpointConfig: endpointSchema });
const disconnectSchema = z.looseObject({ Container: z.string().min(1), Force: z.boolean().optional() });

/** Docker's Network object (GET /networks/{id}). */
export function networkOf(n: NetworkInfo, withContainers: boolean): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  if (withContainers) {
    for (const [id, c] of Object.entries(n.containers)) {
      containers[id] = {
        Name: c.name,
        EndpointID: c.endpointId,
        MacAddress: c.macAddress,
        IPv4Address: c.ipv4Address,
        IPv6Address: c.ipv6Address,
      };
    }
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv4: true,
    EnableIPv6: n.enableIpv6,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: n.ipam.map((c) => ({
        Subnet: c.subnet,
        Gateway: c.gateway,
        ...(c.ipRange === undefined ? {} : { IPRange: c.ipRange }),
      })),
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}

const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

function matchesNetwork(n: NetworkInfo, filters: Filters): boolean {
  for (const t of filters.type ?? []) {
    if (t !== 'custom' && t !== 'builtin') throw new InvalidArgumentError(`invalid filter: 'type'='${t}'`);
  }
  return (
    matchesAny(filters.driver, (d) => d === n.driver) &&
    matchesAny(filters.id, (id) => n.id.startsWith(id)) &&
    matchesAny(filters.name, (name) => n.name.includes(name)) &&
    matchesAny(filters.scope, (s) => s === 'local') &&
    matchesAny(filters.type, (t) => (t === 'builtin') === n.isPredefined) &&
    matchesAny(filters.dangling, (d) => (d === 'true' || d === '1') === isDangling(n)) &&
    matchesLabels(n.labels, filters.label)
  );
}

function isDangling(n: NetworkInfo): boolean {
  return !n.isPredefined && Object.keys(n.containers).length === 0;
}

function list(engine: Engine, ctx: RequestContext): void {
  const filters = parseFilters(ctx.query.get('filters'), LIST_FILTERS);
  const networks = engine.networks.listNetworks().filter((n) => matchesNetwork(n, filters));
  ctx.reply.json(
    200,
    networks.map((n) => networkOf(n, false)),
  );
}

async function create(engine: Engine, ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx, createSchema);
  const configs = body.IPAM?.Config ?? [];
  // One config per family; a config's family is its subnet's (or, without one, its gateway's).
  const isV6 = (c: { Subnet?: string | undefined; Gateway?: string | undefined }) =>
    (c.Subnet || c.Gateway || '').includes(':');
  const v4 = configs.filter((c) => !isV6(c));
  const v6 = configs.filter(isV6);
  if (v4.length > 1 || v6.length > 1)
    throw new InvalidArgumentError('only one IPAM config per address family (IPv4, IPv6) is supported');
  const ipam = v4[0] ?? {};
  const ipam6 = v6[0] ?? {};
  if (ipam6.IPRange) throw new InvalidArgumentError('an IPv6 --ip-range is not supported');
  const info = await engine.networks.createNetwork({
    name: body.Name,
    ...(body.Driver === undefined ? {} : { driver: body.Driver }),
    ...(ipam.Subnet ? { subnet: ipam.Subnet } : {}),
    ...(ipam.Gateway ? { gateway: ipam.Gateway } : {}),
    ...(ipam.IPRange ? { ipRange: ipam.IPRange } : {}),
    ...(body.EnableIPv6 ? { enableIpv6: true } : {}),
    ...(ipam6.Subnet ? { subnet6: ipam6.Subnet } : {}),
    ...(ipam6.Gateway ? { gateway6: ipam6.Gateway } : {}),
    internal: body.Internal === true,
    attachable: body.Attachable === true,
    labels: body.Labels ?? {},
    options: body.Options ?? {},
  });
  engine.events.emit({
    type: 'network',
    action: 'create',
    id: info.id,
    attributes: { name: info.name, type: info.driver },
  });
  ctx.reply.json(201, { Id: info.id, Warning: '' });
}

async function prune(engine: Engine, ctx: RequestContext): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'), ['until', 'label', 'label!']);
  const untilSeconds =
    filters.until?.[0] === undefined ? undefined : parseTimestamp(filters.until[0], 'until');
  const deleted: string[] = [];
  for (const n of engine.networks.listNetworks()) {
    if (!isDangling(n) || !matchesLabels(n.labels, filters.label)) continue;
    if ((filters['label!'] ?? []).some((l) => matchesLabels(n.labels, [l]))) continue;
    if (untilSeconds !== undefined && Date.parse(n.created) / 1000 >= untilSeconds) continue;
    await engine.networks.removeNetwork(n.id);
    engine.events.emit({
      type: 'network',
      action: 'destroy',
      id: n.id,
      attributes: { name: n.name, type: n.driver },
    });
    deleted.push(n.name);
  }
  ctx.reply.json(200, { NetworksDeleted: deleted });
}

export function addNetworkRoutes(router: ApiRouter, engine: Engine): void {
  router
    .on('GET', '/networks', (ctx) => list(engine, ctx))
    .on('POST', '/networks/create', (ctx) => create(engine, ctx))
    .on('POST', '/networks/prune', (ctx) => prune(engine, ctx))
    .on('GET', '/networks/:id', (ctx) => {
      ctx.reply.json(200, networkOf(engine.networks.inspectNetwork(ctx.params.id ?? ''), true));
    })
    .on('DELETE', '/networks/:id', async (ctx) => {
      const info = engine.networks.inspectNetwork(ctx.params.id ?? '');
      await engine.networks.removeNetwork(info.id);
      engine.events.emit({
        type: 'network',
        action: 'destroy',
        id: info.id,
        attributes: { name: info.name, type: info.driver },
      });
      ctx.reply.empty(204);
    })
    .on('POST', '/networks/:id/connect', async (ctx) => {
      const body = await readJson(ctx, connectSchema);
      const e = body.EndpointConfig ?? {};
      await engine.containers.connect(body.Container, ctx.params.id ?? '', {
        ...(e.Aliases?.length ? { aliases: e.Aliases } : {}),
        ...(e.IPAMConfig?.IPv4Address ? { ipv4Address: e.IPAMConfig.IPv4Address } : {}),
        ...(e.IPAMConfig?.IPv6Address ? { ipv6Address: e.IPAMConfig.IPv6Address } : {}),
        ...(e.MacAddress ? { macAddress: e.MacAddress } : {}),
      });
      ctx.reply.empty(200);
    })
    .on('POST', '/networks/:id/disconnect', async (ctx) => {
      const body = await readJson(ctx, disconnectSchema);
      await engine.containers.disconnect(body.Container, ctx.params.id ?? '');
      ctx.reply.empty(200);
    });
}
