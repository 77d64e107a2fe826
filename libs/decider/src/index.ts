/**
 * A decider: the whole behaviour of one kind of stream as three plain functions.
 * `decide` turns a command into the events it causes (or throws a named error),
 * `evolve` folds one event into the state, `initialState` is the state before
 * any event. No I/O, no clock, no randomness: time and ids come in the command.
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
  /** Optional: many events at once, with the same result as folding `evolve`, for deciders whose state grows (linear instead of quadratic). */
  evolveAll?(state: State, events: readonly Event[]): State;
}

export function fold<Event, State>(decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState' | 'evolveAll'>, events: readonly Event[], from?: State): State {
  const start = from ?? decider.initialState();
  return decider.evolveAll ? decider.evolveAll(start, events) : events.reduce((state, event) => decider.evolve(state, event), start);
}
