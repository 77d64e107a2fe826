import assert from 'node:assert/strict';
import { fold, type Decider } from './index';

/**
 * given(events).when(command).then(events): the specification style for
 * deciders. `thenThrows` takes the error class and, optionally, fields the error
 * must carry; nothing is decided then.
 */
export function specFor<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(history: readonly Event[]) {
      return {
        when(command: Command) {
          const run = () => decider.decide(command, fold(decider, history));
          return {
            then(expected: readonly Event[]): void {
              assert.deepEqual(run(), expected);
            },
            thenNothing(): void {
              assert.deepEqual(run(), []);
            },
            thenThrows<E extends Error>(errorClass: new (...args: never[]) => E, fields: Partial<Record<keyof E, unknown>> = {}): void {
              assert.throws(run, (error: unknown) => {
                assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
                for (const [key, value] of Object.entries(fields)) assert.deepEqual((error as unknown as Record<string, unknown>)[key], value, key);
                return true;
              });
            },
          };
        },
        /** The state the history leads to, for specs of evolve itself. */
        state(): State {
          return fold(decider, history);
        },
      };
    },
  };
}
