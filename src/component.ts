/** A long-running part of Vigil that src/main.ts starts and stops in order. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stops work and flushes state; called in reverse start order on shutdown. */
  stop(): Promise<void>;
}
