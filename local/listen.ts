/**
 * Starting the local servers on their ports. A busy port fails naming the variable that moves it
 * (`PORT`, `S3_PORT`, `DYNAMODB_PORT`, `IDMETA_SIM_PORT`), not only the number.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens; resolves with the port bound, rejects (rather than throws) when it cannot. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Runs `start` on `port`; a busy port becomes an error that names `variable`. */
export async function onPort<T>(
  variable: string,
  port: number,
  start: (port: number) => Promise<T>,
): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `port ${port} (${variable}) is in use: stop what holds it, or choose another port with ${variable}`,
      { cause: error },
    );
  }
}
