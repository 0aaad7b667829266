/**
 * A tiny typed event emitter (Node's EventEmitter is not in browsers, and its
 * types are loose). A listener that throws does not stop the others or the
 * emitter's owner: its error goes to `onListenerError`.
 */
export type Listener<Payload> = (payload: Payload) => void;

export class TypedEmitter<Events extends { [Name in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void = () => {}) {}

  /** Subscribes; returns the unsubscribe function. */
  on<Name extends keyof Events>(event: Name, listener: Listener<Events[Name]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<Name extends keyof Events>(event: Name, listener: Listener<Events[Name]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  emit<Name extends keyof Events>(event: Name, payload: Events[Name]): void {
    // Copy first: a listener may unsubscribe while we iterate.
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[Name]>)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
