import type { RouteBinding } from './topology.js';

export interface MatchedRoute {
  route: RouteBinding;
  pathParameters: Record<string, string> | undefined;
}

interface CompiledRoute {
  route: RouteBinding;
  method: string;
  regex: RegExp;
  params: string[];
  /** Lower sorts first: literal paths, then parameters, then greedy paths, then ANY. */
  rank: number;
}

/**
 * HTTP API route selection: the most specific route wins (literal segments over `{param}` over
 * `{proxy+}`, a method over ANY); `$default` catches the rest.
 */
export function compileHttpRoutes(
  routes: readonly RouteBinding[],
): (method: string, path: string) => MatchedRoute | undefined {
  const compiled: CompiledRoute[] = [];
  let fallback: RouteBinding | undefined;
  for (const route of routes) {
    if (route.routeKey === '$default') {
      fallback = route;
      continue;
    }
    const [method = 'ANY', path = '/'] = route.routeKey.split(' ');
    const params: string[] = [];
    let paramCount = 0;
    let greedy = 0;
    const pattern = path
      .split('/')
      .map((segment) => {
        const m = /^\{([^}+]+)(\+?)\}$/.exec(segment);
        if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        params.push(m[1] as string);
        if (m[2]) {
          greedy++;
          return '(.+)';
        }
        paramCount++;
        return '([^/]+)';
      })
      .join('/');
    compiled.push({
      route,
      method,
      regex: new RegExp(`^${pattern}$`),
      params,
      rank: greedy * 1000 + paramCount * 10 + (method === 'ANY' ? 1 : 0),
    });
  }
  compiled.sort((a, b) => a.rank - b.rank);
  return (method, path) => {
    for (const c of compiled) {
      if (c.method !== 'ANY' && c.method !== method) continue;
      const m = c.regex.exec(path);
      if (!m) continue;
      const pathParameters: Record<string, string> = {};
      c.params.forEach((name, i) => {
        pathParameters[name] = safeDecode(m[i + 1] as string);
      });
      return { route: c.route, pathParameters: c.params.length ? pathParameters : undefined };
    }
    return fallback ? { route: fallback, pathParameters: undefined } : undefined;
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
