/**
 * Nesting depth of a JSON text, scanned before parsing: deep documents are
 * rejected up front instead of costing a parse and a recursive walk.
 * Returns the maximum depth (strings are skipped, escapes honoured).
 */
export function jsonDepth(text: string, stopAt = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export class BadPayload extends Error {
  readonly statusCode: number;
  constructor(message: string, statusCode = 400) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** JSON.parse with a depth limit and a clear error. */
export function parseGuarded(text: string, maxDepth: number): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) throw new BadPayload(`JSON nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadPayload(`invalid JSON: ${(err as Error).message}`);
  }
}
