import type { CfnResource, CfnTemplate } from '#infra/synth.js';

/** A Lambda function of the template, with the source entry the local runtime imports. */
export interface LocalFunction {
  readonly logicalId: string;
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** ReservedConcurrentExecutions, when the template sets it. */
  readonly reservedConcurrency?: number;
  readonly environment: Record<string, unknown>;
}

export interface RouteBinding {
  readonly routeKey: string;
  readonly functionId: string;
  readonly authorizer?: { readonly functionId: string; readonly identitySource: readonly string[] };
  /** WebSocket two-way route: the integration's response body goes back to the caller. */
  readonly returnResponse: boolean;
}

/** An HTTP API's `CorsConfiguration`, as CloudFormation spells it. */
export interface CorsConfiguration {
  readonly AllowOrigins?: readonly string[];
  readonly AllowMethods?: readonly string[];
  readonly AllowHeaders?: readonly string[];
  readonly ExposeHeaders?: readonly string[];
  readonly MaxAge?: number;
  readonly AllowCredentials?: boolean;
}

export interface ApiTopology {
  readonly routes: readonly RouteBinding[];
  readonly routeSelectionExpression?: string;
  /** HTTP APIs: the CORS configuration, when the stack sets one. */
  readonly cors?: CorsConfiguration;
}

/** Everything the local runtime serves, read from the synthesized template (no second list). */
export interface Topology {
  readonly tables: ReadonlyMap<string, CfnResource>;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly http: ApiTopology;
  readonly ws: ApiTopology;
}

const ENTRY_KEY = 'chat:entry';

/** Reads tables, functions, HTTP routes and WebSocket routes out of a template. */
export function readTopology(template: CfnTemplate): Topology {
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  const tables = new Map(ofType('AWS::DynamoDB::Table'));
  const functions = new Map<string, LocalFunction>();
  for (const [logicalId, r] of ofType('AWS::Lambda::Function')) {
    const entry = r.Metadata?.[ENTRY_KEY];
    if (typeof entry !== 'string') continue; // functions CDK adds for itself (custom resources)
    const props = r.Properties ?? {};
    functions.set(logicalId, {
      logicalId,
      entry,
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMb: Number(props.MemorySize ?? 128),
      reservedConcurrency:
        props.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(props.ReservedConcurrentExecutions),
      environment: ((props.Environment as { Variables?: Record<string, unknown> })?.Variables ??
        {}) as Record<string, unknown>,
    });
  }

  const functionOf = (value: unknown): string | undefined => findLambdaRef(value, functions);
  const apis = ofType('AWS::ApiGatewayV2::Api');
  const apiOf = (protocol: string) => apis.find(([, r]) => r.Properties?.ProtocolType === protocol);

  const readApi = (protocol: string): ApiTopology => {
    const api = apiOf(protocol);
    if (!api) return { routes: [] };
    const [apiId, apiResource] = api;
    const twoWay = new Set(
      ofType('AWS::ApiGatewayV2::RouteResponse').map(([, r]) => refOf(r.Properties?.RouteId) ?? ''),
    );
    const routes: RouteBinding[] = [];
    for (const [routeId, route] of ofType('AWS::ApiGatewayV2::Route')) {
      const p = route.Properties ?? {};
      if (refOf(p.ApiId) !== apiId) continue;
      const integrationId = findRef(p.Target);
      const integration = integrationId ? resources[integrationId] : undefined;
      const functionId = functionOf(integration?.Properties?.IntegrationUri);
      if (!functionId)
        throw new Error(`Route ${String(p.RouteKey)} has no Lambda integration the runtime knows`);
      let authorizer: RouteBinding['authorizer'];
      if (p.AuthorizationType === 'CUSTOM') {
        const authorizerResource = resources[refOf(p.AuthorizerId) ?? ''];
        const authFn = functionOf(authorizerResource?.Properties?.AuthorizerUri);
        if (!authFn) throw new Error(`Route ${String(p.RouteKey)} has an authorizer the runtime cannot run`);
        authorizer = {
          functionId: authFn,
          identitySource: (authorizerResource?.Properties?.IdentitySource as string[] | undefined) ?? [],
        };
      }
      routes.push({
        routeKey: String(p.RouteKey),
        functionId,
        authorizer,
        returnResponse: twoWay.has(routeId) || p.RouteResponseSelectionExpression !== undefined,
      });
    }
    const selection = apiResource.Properties?.RouteSelectionExpression;
    const cors = apiResource.Properties?.CorsConfiguration as CorsConfiguration | undefined;
    return { routes, routeSelectionExpression: typeof selection === 'string' ? selection : undefined, cors };
  };

  return { tables, functions, http: readApi('HTTP'), ws: readApi('WEBSOCKET') };
}

function refOf(value: unknown): string | undefined {
  const ref = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? ref : undefined;
}

/** First `Ref` found anywhere inside an intrinsic expression. */
function findRef(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = findRef(v);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    const ref = refOf(value);
    if (ref) return ref;
    for (const v of Object.values(value)) {
      const found = findRef(v);
      if (found) return found;
    }
  }
  return undefined;
}

/** The Lambda function an integration or authorizer URI points at (`Fn::GetAtt [id, Arn]` inside it). */
function findLambdaRef(value: unknown, functions: ReadonlyMap<string, LocalFunction>): string | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = findLambdaRef(v, functions);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && functions.has(getAtt[0])) return getAtt[0];
    for (const v of Object.values(value)) {
      const found = findLambdaRef(v, functions);
      if (found) return found;
    }
  }
  return undefined;
}
