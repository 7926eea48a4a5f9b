import { UnauthorizedError } from '../../api/index.js';
import type { RegistryCredentials } from './auth.js';
import { basicAuthorization, hasPassword, registryDomainOf } from './auth.js';
import { type RegistryOptions, RegistrySession } from './transport.js';

/**
 * Checks credentials the way `docker login` does: ask `/v2/` what it wants, then prove we
 * have it (Basic on `/v2/` itself, or a token from the registry's token server).
 */
export async function checkLogin(
  serverAddress: string | undefined,
  creds: RegistryCredentials,
  options: RegistryOptions,
): Promise<void> {
  const session = new RegistrySession(registryDomainOf(serverAddress), creds, options);
  const challenge = await session.probe();
  if (!challenge) return;
  if (challenge.scheme === 'basic') {
    const url = `${session.baseUrl}/v2/`;
    const res = await session.fetchRaw({
      method: 'GET',
      path: url,
      headers: hasPassword(creds) ? { Authorization: basicAuthorization(creds) } : {},
    });
    await res.body?.cancel();
    if (res.ok) return;
    throw new UnauthorizedError(
      `login attempt to ${url} failed with status: ${res.status} ${res.statusText}`,
    );
  }
  try {
    await session.authorization('');
  } catch (e) {
    if (e instanceof UnauthorizedError) throw e;
    throw new UnauthorizedError(`login to ${session.baseUrl}/v2/ failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
