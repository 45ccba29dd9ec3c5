export { createEngine, MAX_STEPS, MAX_SUBQUERY_STEPS, type EngineOptions } from './engine.js';
export { parseExpr, typeOf, MAX_EXPR_LENGTH, MAX_TREE_DEPTH } from './parser.js';
export type * from './ast.js';
export * from './types.js';
