import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthRegistry } from '../health';
import { ObservabilityModule } from './observability.module';
import { PinoNestLogger } from './pino-nest.logger';

/** The HTTP side of a gRPC service: /healthz, /readyz and /metrics on a port of its own. */
export async function startHealthServer(options: {
  registry: Registry;
  health: HealthRegistry;
  logger: Logger;
  port: number;
  host: string;
}): Promise<{ port: number; close(): Promise<void> }> {
  @Module({ imports: [ObservabilityModule.forRoot({ registry: options.registry, health: options.health })] })
  class HealthHttpModule {}
  const http = await NestFactory.create(HealthHttpModule, { logger: new PinoNestLogger(options.logger) });
  await http.listen(options.port, options.host);
  return { port: (http.getHttpServer().address() as { port: number }).port, close: () => http.close() };
}
