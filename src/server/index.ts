import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../api/index.js';
import type { Engine, Logger } from '../engine/index.js';
import { ApiRouter } from './router.js';
import { addBuildRoutes } from './routes/build.js';
import { addContainerOpsRoutes } from './routes/container-ops.js';
import { addContainerRoutes } from './routes/containers.js';
import { addExecRoutes } from './routes/exec.js';
import { addImageRoutes } from './routes/images.js';
import { addNetworkRoutes } from './routes/networks.js';
import { addRegistryRoutes } from './routes/registry.js';
import { addSystemRoutes } from './routes/system.js';
import { addDiskUsageRoutes } from './routes/system-df.js';
import { addVolumeRoutes } from './routes/volumes.js';

export interface ApiServer {
  /** Stops accepting connections and ends open ones (streams such as `events -f`). */
  close(): Promise<void>;
}

/** `unix:///path` -> the socket path; other schemes are not served yet. */
export function socketPathOf(host: string): string {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  throw new InvalidArgumentError(`unsupported host ${host}: only unix:// sockets are served`);
}

/** Serves the Engine API on each `unix://` host, socket mode 0660 as dockerd's. */
export async function serveApi(engine: Engine, hosts: readonly string[], log: Logger): Promise<ApiServer> {
  const router = new ApiRouter(log);
  addSystemRoutes(router, engine);
  addContainerRoutes(router, engine);
  addContainerOpsRoutes(router, engine);
  addExecRoutes(router, engine);
  addImageRoutes(router, engine);
  addNetworkRoutes(router, engine);
  addRegistryRoutes(router, engine);
  addVolumeRoutes(router, engine);
  addDiskUsageRoutes(router, engine);
  addBuildRoutes(router, engine);

  const servers: Server[] = [];
  for (const host of hosts) {
    const path = socketPathOf(host);
    await mkdir(dirname(path), { recursive: true });
    // A socket left by a daemon that was killed blocks listen(); the data-root lock says we are alone.
    await rm(path, { force: true });
    const server = createServer({ keepAlive: true }, (req, res) => router.handleRequest(req, res));
    server.on('upgrade', (req, socket, head) => {
      // Bytes that came with the request (exec start's body, early stdin) belong to the stream.
      if (head.length > 0) socket.unshift(head);
      router.handleUpgrade(req, socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await chmod(path, 0o660);
    log.info({ host }, 'API listen');
    servers.push(server);
  }
  return {
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
