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
  /**
   * Optional: facts of the stream the state does not keep (a message among a
   * hundred thousand). The state gathers the facts its events touch since the
   * last snapshot; the store moves them out of it beside that snapshot, and looks
   * up those a command needs before deciding. So the state, its snapshots and the
   * cost of an append stay bounded however long the stream grows.
   */
  readonly facts?: DeciderFacts<Command, State>;
}

/** One fact, by key; a key may have several stored values, which join (see DeciderFacts.with). */
export interface Fact {
  readonly key: string;
  readonly value: unknown;
}

export interface DeciderFacts<Command, State> {
  /** Keys of the facts deciding this command needs; asked again once they are given, as one fact can name another. */
  needs(command: Command, state: State): readonly string[];
  /** The state decide sees: the stored values of the keys (oldest first) joined with the state's own facts. Values join, so giving one twice changes nothing. */
  with(state: State, found: ReadonlyMap<string, readonly unknown[]>): State;
  /** The facts the state gathered, to store beside a snapshot, and the state without them. */
  take(state: State): { readonly state: State; readonly facts: readonly Fact[] };
}

export function fold<Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState' | 'evolveAll'>,
  events: readonly Event[],
  from?: State,
): State {
  const start = from ?? decider.initialState();
  return decider.evolveAll ? decider.evolveAll(start, events) : events.reduce((state, event) => decider.evolve(state, event), start);
}
