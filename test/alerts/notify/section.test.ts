import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { parseYamlText } from '../../../src/config/yaml-file.js';

const parse = (text: string) => parseYamlText(text, 'vigil.yml', configSchema, { env: {} });

describe('alerting: section of vigil.yml', () => {
  it('is off by default and accepts an inline Alertmanager config', () => {
    expect(parse('{}').alerting).toBeUndefined();
    const c = parse('alerting:\n  config:\n    route: {receiver: x, group_wait: 5s}\n    receivers: [{name: x}]\n');
    expect(c.alerting?.config?.route.group_wait).toBe(5000);
  });
  it('reports errors inside the inline config with path and line', () => {
    expect(() => parse('alerting:\n  config:\n    route: {receiver: nope}\n    receivers: [{name: x}]\n')).toThrow(/line 3: alerting.config.route.receiver: undefined receiver "nope"/);
    expect(() => parse('alerting:\n  config_file: a.yml\n  config: {route: {receiver: x}, receivers: [{name: x}]}\n')).toThrow(/either config_file or config/);
    expect(() => parse('alerting:\n  alertmanagers: [{url: "not a url"}]\n')).toThrow(/alerting.alertmanagers\[0\].url/);
  });
});
