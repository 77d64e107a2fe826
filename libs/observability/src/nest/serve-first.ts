import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Puts a handler ahead of a Nest application on its own HTTP server: `first`
 * answers what it takes (returns true), everything else reaches the application
 * as before. Call it after the application is created, before it listens.
 */
export function serveFirst(server: Server, first: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const rest = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!first(req, res)) for (const listener of rest) listener(req, res);
  });
}
