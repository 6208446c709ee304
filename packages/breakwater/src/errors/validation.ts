import type { BreakwaterError } from './breakwater-error.js';
import { Errors } from './codes.js';

/** One failing field. `path` is dotted (`messages.0.content`); empty for the whole input. */
export interface FieldIssue {
  path: string;
  message: string;
  code?: string;
}

/** Every failing field at once, as one `VALIDATION_INVALID_INPUT` error. */
export function validationError(issues: readonly FieldIssue[], message?: string): BreakwaterError {
  const list = issues.map((issue) => ({ path: issue.path, message: issue.message, code: issue.code ?? 'invalid' }));
  return Errors.invalidInput({
    message: message ?? `Invalid input: ${list.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    userMessage: list.length === 1 ? 'One field is invalid.' : `${list.length} fields are invalid.`,
    details: { issues: list },
  });
}

interface ZodLikeIssue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
}

/**
 * From a zod error (v3 or v4) or its `issues` array, read by shape so the core does not import zod.
 * Returns undefined for anything that is not zod-shaped.
 */
export function fromZodError(error: unknown, message?: string): BreakwaterError | undefined {
  const issues = zodIssues(error);
  if (!issues) return undefined;
  return validationError(
    issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code })),
    message,
  );
}

export function zodIssues(error: unknown): ZodLikeIssue[] | undefined {
  const issues = Array.isArray(error) ? error : (error as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues) || issues.length === 0) return undefined;
  return issues.every(isZodLikeIssue) ? issues : undefined;
}

function isZodLikeIssue(value: unknown): value is ZodLikeIssue {
  const issue = value as ZodLikeIssue | null;
  return typeof issue === 'object' && issue !== null && Array.isArray(issue.path) && typeof issue.message === 'string';
}

/**
 * Collects a user's own checks so every failing field is reported together:
 * `const v = collectIssues(); v.check(age >= 0, 'age', 'must not be negative'); v.throwIfAny();`
 */
export function collectIssues(): IssueCollector {
  return new IssueCollector();
}

export class IssueCollector {
  readonly issues: FieldIssue[] = [];

  add(path: string, message: string, code?: string): this {
    this.issues.push({ path, message, ...(code === undefined ? {} : { code }) });
    return this;
  }

  /** Records an issue when `ok` is false. */
  check(ok: boolean, path: string, message: string, code?: string): this {
    return ok ? this : this.add(path, message, code);
  }

  throwIfAny(): void {
    if (this.issues.length > 0) throw validationError(this.issues);
  }
}
