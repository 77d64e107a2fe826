import { defaultRegistry, histogram, type Registry } from '@parley/observability';

/** Append latency and group-commit batch size, labelled only by adapter (bounded). */
export class EventLogMetrics {
  private readonly appendSeconds;
  private readonly batchSize;

  constructor(
    private readonly adapter: 'mongo' | 'sqlite',
    registry: Registry = defaultRegistry(),
  ) {
    this.appendSeconds = histogram(registry, {
      name: 'parley_event_log_append_duration_seconds',
      help: 'Time to durably write one group-commit batch of appends.',
      labelNames: ['adapter'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.batchSize = histogram(registry, {
      name: 'parley_event_log_batch_size',
      help: 'Appends written together in one group-commit batch.',
      labelNames: ['adapter'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    });
  }

  observeBatch(appends: number, seconds: number): void {
    this.appendSeconds.observe({ adapter: this.adapter }, seconds);
    this.batchSize.observe({ adapter: this.adapter }, appends);
  }
}
