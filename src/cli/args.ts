/** Minimal flag parsing shared by the commands: `--name value`, `--name=value`, `--flag`. */
export interface ParsedArgs {
  flags: Record<string, string | true>;
  positional: string[];
}

export function parseArgs(args: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (booleanFlags.includes(a.slice(2)) || i + 1 >= args.length) flags[a.slice(2)] = true;
      else flags[a.slice(2)] = args[++i];
    } else positional.push(a);
  }
  return { flags, positional };
}

export function flagString(p: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : fallback;
}
