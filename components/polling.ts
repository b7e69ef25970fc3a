/**
 * Calls `fn` at once and then every `ms` milliseconds, never while the previous call still runs (a slow
 * engine answer skips rounds instead of piling up requests). Returns the function that stops it, so it
 * can be returned from Svelte's `onMount`.
 */
export function poll(fn: (round: number) => unknown, ms: number): () => void {
  let busy = false;
  let round = 0;
  const run = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      await fn(round++);
    } catch {
      /* the next round tries again */
    } finally {
      busy = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), ms);
  return () => clearInterval(timer);
}
