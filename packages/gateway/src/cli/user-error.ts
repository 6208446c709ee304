/**
 * A mistake of the person at the keyboard (a flag, a value, a file, a port): printed as one line
 * that names the fix, exit code 2, never a stack trace. Anything else is a crash and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Node's own errors that are the user's doing, turned into UserErrors. */
export function asUserError(error: unknown): UserError | undefined {
  if (error instanceof UserError) return error;
  const code = (error as { code?: string } | null)?.code;
  const message = (error as Error | null)?.message ?? String(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    return new UserError(`unknown option ${option} (see breakwater --help)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new UserError(`${message.split('\n')[0]} (see breakwater --help)`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UserError(`${message} (see breakwater --help)`);
  if (code === 'EADDRINUSE')
    return new UserError(
      `the port is already in use (${message.replace(/^listen /, '')}): pass --port N or stop the other server`,
    );
  if (code === 'EACCES') return new UserError(`permission denied: ${message}`);
  return undefined;
}

/** A whole number in range, or a UserError naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 0, max = 65_535): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UserError(`--${name} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return n;
}
