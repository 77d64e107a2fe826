import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Metadata, credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';

export const CONSOLE_BACKENDS = Symbol('ConsoleBackends');

type ServiceName = 'ConversationService' | 'CustomerService' | 'AvailabilityService' | 'RoutingService' | 'CannedResponseService';

export interface ConsoleBackends {
  /** Where each public gRPC service listens. */
  readonly addresses: Readonly<Record<ServiceName, string>>;
  /** npm start only: the demo agents' tokens, so the console can sign in with a click. */
  readonly demoAgents: () => Promise<readonly { agentId: string; token: string; role: 'agent' | 'supervisor' }[]>;
}

const HTTP_STATUS: Partial<Record<status, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.OUT_OF_RANGE]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.ABORTED]: 409,
  [status.FAILED_PRECONDITION]: 412,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
};

/**
 * The thin gateway the reference console needs, because browsers do not speak
 * gRPC: `POST /api/<Service>/<Method>` with the request as JSON and the caller's
 * bearer token, answered with the response as JSON. Unary methods of the public
 * services only, nothing added: the console uses exactly the API platform teams use,
 * and the gRPC status comes back as the HTTP status and `code`.
 */
@Controller()
export class ConsoleController {
  private readonly clients = new Map<ServiceName, Client>();
  private readonly page = readFileSync(join(__dirname, '..', '..', 'console', 'console.html'), 'utf8');

  constructor(@Inject(CONSOLE_BACKENDS) private readonly backends: ConsoleBackends) {}

  @Get('console')
  console(@Res() res: Response) {
    res.type('html').send(this.page);
  }

  @Get('console/demo-agents')
  async demoAgents() {
    return { agents: await this.backends.demoAgents() };
  }

  @Post('api/:service/:method')
  @HttpCode(200)
  call(
    @Param('service') service: string,
    @Param('method') method: string,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() res: Response,
  ) {
    if (!(service in this.backends.addresses)) return void res.status(404).json({ code: 'NOT_FOUND', message: `no public service ${service}` });
    const name = service as ServiceName;
    const definition = parleyService(name).service[method];
    if (!definition || definition.requestStream || definition.responseStream)
      return void res.status(404).json({ code: 'NOT_FOUND', message: `no unary method ${service}/${method}` });
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return void res.status(400).json({ code: 'INVALID_ARGUMENT', message: 'the request is a JSON object' });
    const metadata = new Metadata();
    if (authorization) metadata.set('authorization', authorization);
    const client = this.clientOf(name) as unknown as Record<
      string,
      (r: unknown, m: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r?: unknown) => void) => void
    >;
    client[method]!.call(client, body, metadata, { deadline: Date.now() + 10_000 }, (error, response) => {
      if (!error) return void res.json(response);
      res.status(HTTP_STATUS[error.code] ?? 502).json({ code: status[error.code], message: error.details });
    });
  }

  private clientOf(name: ServiceName): Client {
    let client = this.clients.get(name);
    if (!client) {
      const Constructor = parleyService(name);
      client = new Constructor(this.backends.addresses[name], credentials.createInsecure());
      this.clients.set(name, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}
