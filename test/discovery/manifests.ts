import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DEPLOY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/kubernetes');

/** The vigil.yml text inside deploy/kubernetes/configmap.yaml. */
export function configMapVigilYml(): string {
  const cm = parse(readFileSync(join(DEPLOY_DIR, 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
  return cm.data['vigil.yml'];
}
