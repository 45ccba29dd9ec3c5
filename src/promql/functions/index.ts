import { ELEMENTWISE_FUNCTIONS } from './elementwise.js';
import { HISTOGRAM_FUNCTIONS } from './histograms.js';
import { LABEL_FUNCTIONS } from './labels.js';
import { MISC_FUNCTIONS } from './misc.js';
import { RANGE_FUNCTIONS } from './range.js';
import type { FunctionDef } from './types.js';

/**
 * Every PromQL function: name → signature and implementation. The parser
 * checks calls against it and the evaluator dispatches through it, so a new
 * function is one entry in one of these tables plus a test script.
 */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  Object.entries({ ...ELEMENTWISE_FUNCTIONS, ...RANGE_FUNCTIONS, ...LABEL_FUNCTIONS, ...HISTOGRAM_FUNCTIONS, ...MISC_FUNCTIONS }),
);

export type { FnContext, FunctionDef, RangeCtx, RangeFn } from './types.js';
