import { Registry } from '@parley/observability';
import { messageBusContract } from '../testing/message-bus.contract';
import { InProcessBus } from './in-process.bus';

messageBusContract('in-process', async () => {
  const registry = new Registry();
  const bus = new InProcessBus({ registry });
  return {
    bus,
    registry,
    // Members of one process share the broker: "another bus" is the same one.
    openAnother: async () => ({
      ...bus,
      publish: bus.publish.bind(bus),
      subscribe: bus.subscribe.bind(bus),
      ensureTopics: bus.ensureTopics.bind(bus),
      endOffsets: bus.endOffsets.bind(bus),
      close: async () => undefined,
    }),
    cleanup: () => bus.close(),
    slowerThanSessionMs: 300,
  };
});
