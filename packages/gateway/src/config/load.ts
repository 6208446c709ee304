import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigSchema, type GatewayConfig } from './schema.js';

/** A configuration problem: every issue with its path in the file and what to do. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: string[],
  ) {
    super(`Invalid configuration in ${file}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Where `${VAR}` references are read from. Default process.env. */
  env?: Record<string, string | undefined>;
}

export function parseConfig(input: unknown, file = '(inline)', options: LoadOptions = {}): GatewayConfig {
  const interpolated = interpolate(input, options.env ?? process.env, file);
  const result = ConfigSchema.safeParse(interpolated);
  if (!result.success) throw new ConfigError(file, result.error.issues.map(describeIssue));
  const config = result.data;
  const problems: string[] = [];
  for (const [alias, route] of Object.entries(config.routes)) {
    if (config.journal.writeTimeoutMs >= route.totalTimeoutMs)
      problems.push(
        `routes.${alias}.totalTimeoutMs: ${route.totalTimeoutMs} ms leaves no room for a journal write (journal.writeTimeoutMs is ${config.journal.writeTimeoutMs}); raise it or lower journal.writeTimeoutMs`,
      );
    route.targets.forEach((target, i) => {
      if (!config.providers[target.provider]) {
        problems.push(
          `routes.${alias}.targets.${i}.provider: "${target.provider}" is not a provider; define it under providers (known: ${Object.keys(config.providers).join(', ') || 'none'})`,
        );
      }
    });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/** Reads a YAML or JSON file. A file that is missing or unreadable is a ConfigError too. */
export function loadConfig(file: string, options: LoadOptions = {}): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      code === 'ENOENT'
        ? 'the file does not exist (check the path, or pass --config FILE)'
        : `cannot read it (${code})`,
    ]);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [
      `the file is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    ]);
  }
  return parseConfig(data, file, options);
}

/** The configuration's JSON Schema (for editors: `# yaml-language-server: $schema=…`). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** `${VAR}` in any string value is replaced by the variable; a missing one is an error naming it. */
function interpolate(value: unknown, env: Record<string, string | undefined>, file: string, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_, name: string) => {
      const found = env[name];
      if (found === undefined)
        throw new ConfigError(file, [`${path || '(top level)'}: \${${name}} is not set in the environment`]);
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolate(item, env, file, `${path}.${i}`.replace(/^\./, '')));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, file, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove them or check the spelling`;
  return `${path}: ${issue.message}`;
}
