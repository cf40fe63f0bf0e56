import { randomBytes } from 'node:crypto';

/** API Gateway style ids: base64 text that includes `=`, so clients must URL-encode connection ids. */
export function gatewayId(bytes = 12): string {
  return randomBytes(bytes)
    .toString('base64')
    .replace(/\//g, '_')
    .replace(/\+/g, '-')
    .slice(0, 15)
    .concat('=');
}
