/** Counts event-loop turns while `p` runs: the main thread kept answering if there are many. */
export async function turnsDuring(p: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await p;
  done = true;
  return turns;
}
