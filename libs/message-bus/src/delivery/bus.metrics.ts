import { counter, defaultRegistry, histogram, type Registry } from '@parley/observability';

/** Labelled by topic and group only: both are bounded sets fixed by deployment (a group of one instance's own by its label, without the instance). */
export class BusMetrics {
  private readonly handled;
  private readonly failures;
  private readonly deadLetters;
  private readonly skipped;
  private readonly published;
  private readonly crashes;

  constructor(registry: Registry = defaultRegistry()) {
    this.handled = histogram(registry, {
      name: 'parley_bus_handler_duration_seconds',
      help: 'Time from taking a message to its handler succeeding or the message being dead-lettered.',
      labelNames: ['topic', 'group'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    });
    this.failures = counter(registry, {
      name: 'parley_bus_handler_failures_total',
      help: 'Handler attempts that threw (each retry counts).',
      labelNames: ['topic', 'group'] as const,
    });
    this.deadLetters = counter(registry, {
      name: 'parley_bus_dead_letters_total',
      help: 'Messages sent to a dead-letter topic after their retries were spent.',
      labelNames: ['topic', 'group'] as const,
    });
    this.skipped = counter(registry, {
      name: 'parley_bus_skipped_messages_total',
      help: "Messages a group of one instance's own (an in-memory model) could not handle and passed over after their retries: logged, not dead-lettered.",
      labelNames: ['topic', 'group'] as const,
    });
    this.crashes = counter(registry, {
      name: 'parley_bus_consumer_crashes_total',
      help: 'Consumers that crashed on an error Kafka does not retry, and were made anew.',
      labelNames: ['group'] as const,
    });
    this.published = counter(registry, {
      name: 'parley_bus_published_messages_total',
      help: 'Messages published.',
      labelNames: ['topic'] as const,
    });
  }

  observeHandled(topic: string, group: string, seconds: number): void {
    this.handled.observe({ topic, group }, seconds);
  }
  countFailure(topic: string, group: string): void {
    this.failures.inc({ topic, group });
  }
  countDeadLetter(topic: string, group: string): void {
    this.deadLetters.inc({ topic, group });
  }
  countSkipped(topic: string, group: string): void {
    this.skipped.inc({ topic, group });
  }
  countCrash(group: string): void {
    this.crashes.inc({ group });
  }
  countPublished(topic: string, n: number): void {
    this.published.inc({ topic }, n);
  }
}
