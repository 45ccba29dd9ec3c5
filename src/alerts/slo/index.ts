/**
 * SLO files → rule groups for the rule manager. A file that fails validation
 * is reported and skipped; the SLOs of the other files, and the last good
 * rules of the failing file, keep running, so one typo never removes alerts.
 */
import { relative } from 'node:path';
import { ConfigError } from '../../config/errors.js';
import { parseRuleFile, type GroupSpec } from '../rules/file.js';
import { resolveRuleFiles } from '../rules/files.js';
import { renderRuleFile } from './generate.js';
import { loadSloFile } from './spec.js';

export { generateGroups, renderRuleFile, errorBudget, SLI_WINDOWS, PAGE_WINDOWS, TICKET_WINDOWS } from './generate.js';
export { loadSloFile, parseSloText, type SloFile, type SloSpec } from './spec.js';

export interface GeneratedRuleFile {
  /** The SLO file, absolute. */
  source: string;
  /** Rule file text, as `vigil slo generate` writes it. */
  text: string;
}

export interface SloLoadResult {
  files: GeneratedRuleFile[];
  errors: string[];
}

function describe(err: unknown): string {
  return err instanceof ConfigError ? err.message : (err as Error).message;
}

/** The rule file text of one SLO file; throws its validation errors. */
function generate(source: string, baseDir: string): string {
  return renderRuleFile(loadSloFile(source), relative(baseDir, source) || source);
}

/** Reads and validates every SLO file the patterns name. */
export function generateSloRuleFiles(patterns: readonly string[], baseDir: string): SloLoadResult {
  const { files, errors } = resolveRuleFiles(patterns, baseDir);
  const out: GeneratedRuleFile[] = [];
  for (const source of files) {
    try {
      out.push({ source, text: generate(source, baseDir) });
    } catch (err) {
      errors.push(describe(err));
    }
  }
  return { files: out, errors };
}

/**
 * Keeps the last good rule groups per SLO file across reloads: a file that
 * turns invalid keeps its previous alerts running while its error is reported.
 */
export class SloRuleSource {
  private lastGood = new Map<string, GroupSpec[]>();

  constructor(
    private patterns: readonly string[],
    private readonly baseDir: string,
  ) {}

  setPatterns(patterns: readonly string[]): void {
    this.patterns = patterns;
  }

  load(): { groups: GroupSpec[]; errors: string[] } {
    const { files: resolved, errors: globErrors } = resolveRuleFiles(this.patterns, this.baseDir);
    const errors = [...globErrors];
    const next = new Map<string, GroupSpec[]>();
    for (const source of resolved) {
      let groups: GroupSpec[] | undefined;
      try {
        const parsed = parseRuleFile(generate(source, this.baseDir), `${source} (generated)`);
        if (parsed.errors.length) errors.push(...parsed.errors);
        else groups = parsed.groups;
      } catch (err) {
        errors.push(describe(err));
      }
      const kept = groups ?? this.lastGood.get(source);
      if (kept) next.set(source, kept);
    }
    this.lastGood = next;
    return { groups: [...next.values()].flat(), errors };
  }
}
