import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
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

export function parseConfig(input: unknown, file = '(inline)'): GatewayConfig {
  const result = ConfigSchema.safeParse(input);
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

/** Reads a YAML or JSON file. */
export function loadConfig(file: string): GatewayConfig {
  const text = readFileSync(file, 'utf8');
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [
      `the file is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    ]);
  }
  return parseConfig(data, file);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove them or check the spelling`;
  return `${path}: ${issue.message}`;
}
