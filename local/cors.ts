import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsConfiguration } from './topology.js';

/** CORS as the local front applies it: the template's configuration plus origins the runtime adds. */
export interface LocalCors {
  /** Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`); true when it did. */
  preflight(req: IncomingMessage, res: ServerResponse): boolean;
  /** The headers to add to an ordinary answer for this request's origin (none for other origins). */
  headersFor(req: IncomingMessage): Record<string, string>;
}

/**
 * Emulates API Gateway HTTP API CORS (AWS docs, "Configuring CORS for an HTTP API"): preflights are
 * answered by the gateway, before routes and authorizers, with 204; an allowed origin gets the allow
 * headers, any other origin gets none (the browser then refuses). Answers for an allowed origin carry
 * `Access-Control-Allow-Origin` and the exposed headers. Written here because the local front emulates
 * the gateway itself; a CORS middleware library would not follow the gateway's rules.
 */
export function localCors(
  config: CorsConfiguration | undefined,
  extraOrigins: readonly string[] = [],
): LocalCors {
  const origins = new Set([...(config?.AllowOrigins ?? []), ...extraOrigins]);
  const anyOrigin = origins.has('*');
  const methods = (config?.AllowMethods ?? []).map((m) => m.toUpperCase());
  const headers = (config?.AllowHeaders ?? []).map((h) => h.toLowerCase());
  const allowed = (origin: string | undefined): origin is string =>
    origin !== undefined && (anyOrigin || origins.has(origin));
  const common = (origin: string): Record<string, string> => ({
    'access-control-allow-origin': anyOrigin && !config?.AllowCredentials ? '*' : origin,
    ...(config?.AllowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
    vary: 'origin',
  });
  return {
    preflight(req, res) {
      const method = req.headers['access-control-request-method'];
      if (req.method !== 'OPTIONS' || !config || typeof method !== 'string') return false;
      const origin = req.headers.origin;
      const requested = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
      const ok =
        allowed(origin) &&
        (methods.includes('*') || methods.includes(method.toUpperCase())) &&
        requested.every((h) => headers.includes('*') || headers.includes(h));
      if (!ok) {
        res.writeHead(204).end();
        return true;
      }
      res
        .writeHead(204, {
          ...common(origin),
          'access-control-allow-methods': methods.join(','),
          ...(headers.length ? { 'access-control-allow-headers': headers.join(',') } : {}),
          ...(config.MaxAge !== undefined ? { 'access-control-max-age': String(config.MaxAge) } : {}),
        })
        .end();
      return true;
    },
    headersFor(req) {
      const origin = req.headers.origin;
      if (!config || !allowed(origin)) return {};
      const exposed = config.ExposeHeaders ?? [];
      return {
        ...common(origin),
        ...(exposed.length ? { 'access-control-expose-headers': exposed.join(',') } : {}),
      };
    },
  };
}
