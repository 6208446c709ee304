/**
 * Which methods a path would have matched, from a framework's route table: what turns a 404 into
 * a 405 with an `Allow` header. Patterns: `/users/:id`, `/files/*`, `{param}` and `:param?` forms.
 */
export function allowedMethods(routes: ReadonlyArray<{ method: string; path: string }>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes)
    if (route.method !== 'ALL' && patternOf(route.path).test(path)) methods.add(route.method.toUpperCase());
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

const patterns = new Map<string, RegExp>();

function patternOf(path: string): RegExp {
  let pattern = patterns.get(path);
  if (!pattern) {
    const source = path
      .split('/')
      .map((segment) => {
        if (segment === '*' || segment.startsWith('*')) return '.*';
        if (segment.startsWith(':') || (segment.startsWith('{') && segment.endsWith('}')))
          return segment.endsWith('?') ? '[^/]*' : '[^/]+';
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    pattern = new RegExp(`^${source}/?$`);
    patterns.set(path, pattern);
  }
  return pattern;
}
