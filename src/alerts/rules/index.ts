export { createRuleManager, loadGroupSpecs } from './manager.js';
export type { RuleManager, RuleManagerOptions, RuleGroupView, RuleView, AlertView } from './manager.js';
export { loadRuleFile, parseRuleFile } from './file.js';
export type { GroupSpec, RuleSpec } from './file.js';
export { resolveRuleFiles } from './files.js';
