/**
 * The one current thread of its kind (Node: the pool's supervisor), and its
 * end heard once.
 *
 * Node reports a failing thread twice, 'error' and then 'exit', turns apart.
 * Between them the owner may already have spawned the successor (the 'error'
 * rejected a pending request, and its caller started a new pool), so a
 * thread's end forgets only its own thread, never the one now current.
 */

/** What is needed of a Node Worker. */
export interface EndingThread {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

export class CurrentThread<T> {
  #current: { readonly thread: EndingThread; readonly value: T } | null = null;

  /** The current thread's value, or `null` when none runs. */
  get value(): T | null {
    return this.#current?.value ?? null;
  }

  /**
   * Makes `value` (running on `thread`) current and returns it. `ended(why)`
   * is called once, at the first of the thread's 'error' and 'exit'.
   */
  adopt(thread: EndingThread, value: T, ended: (why: string) => void): T {
    let heard = false;
    const end = (why: string) => {
      if (heard) return;
      heard = true;
      if (this.#current?.thread === thread) this.#current = null;
      ended(why);
    };
    thread.on('error', (error) => end(`failed: ${error.message}`));
    thread.on('exit', (code) => end(`exited with code ${code}`));
    this.#current = { thread, value };
    return value;
  }
}
