import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type IHttpRouteAuthorizer,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
  WebSocketLambdaAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { tableEnvVar, tableNames } from '#shared/config/table-names.js';
import { ChatFunction } from './constructs/chat-function.js';
import { authorizers, type FunctionSpec, httpRoutes, wsRoutes } from './routes.js';
import type { StageConfig } from './stage.js';
import { ChatTables } from './tables.js';

export interface ChatStackProps extends StackProps {
  readonly stage: StageConfig;
}

/** The whole chat backend: tables, HTTP and WebSocket APIs, and one function per route. */
export class ChatStack extends Stack {
  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const tables = new ChatTables(this, 'Tables', stage);

    // Generated at deploy time, never stored in the repository.
    const tokenSecret = new Secret(this, 'TokenSigningSecret', {
      description: 'HMAC key that signs access tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: stage.removalPolicy,
    });

    const wsApi = new WebSocketApi(this, 'WebSocketApi', {
      routeSelectionExpression: '$request.body.action',
    });
    const wsStage = new WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: wsApi,
      stageName: stage.name,
      autoDeploy: true,
      throttle: stage.throttle,
    });

    // Every function learns every table name (names are not secrets); access is granted per function.
    const environment: Record<string, string> = {
      TOKEN_SECRET_ARN: tokenSecret.secretArn,
      WS_CALLBACK_URL: wsStage.callbackUrl,
    };
    for (const name of tableNames) environment[tableEnvVar(name)] = tables.byName[name].tableName;

    const makeFunction = (id: string, spec: FunctionSpec): ChatFunction => {
      const fn = new ChatFunction(this, id, {
        entry: spec.entry,
        stage,
        environment,
        memorySize: spec.memorySize,
        timeout: spec.timeoutSeconds ? Duration.seconds(spec.timeoutSeconds) : undefined,
      });
      for (const [name, access] of Object.entries(spec.tables ?? {})) {
        const table = tables.byName[name as keyof typeof tables.byName];
        if (access === 'read') table.grantReadData(fn);
        else if (access === 'write') table.grantWriteData(fn);
        else table.grantReadWriteData(fn);
      }
      if (spec.pushes) wsStage.grantManagementApiAccess(fn);
      if (spec.signsTokens) tokenSecret.grantRead(fn);
      return fn;
    };

    const httpAuthorizer = new HttpLambdaAuthorizer(
      'HttpAuthorizer',
      makeFunction('HttpAuthorizerFn', authorizers.http),
      {
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        // No identity source and no cache: the authorizer runs on every call and passes its verdict
        // on, so that a missing or bad token gets the contract's 401 body rather than API Gateway's.
        identitySource: [],
        resultsCacheTtl: Duration.seconds(0),
      },
    );

    const httpApi = new HttpApi(this, 'HttpApi', { createDefaultStage: true });
    for (const spec of httpRoutes) {
      const mutating = /^(POST|PATCH|PUT|DELETE) /.test(spec.route);
      const fn = makeFunction(functionId('Http', spec.entry), {
        ...spec,
        tables: mutating ? { idempotency: 'readWrite', ...spec.tables } : spec.tables,
      });
      const authorizer: IHttpRouteAuthorizer | undefined = spec.public ? undefined : httpAuthorizer;
      new HttpRoute(this, functionId('Route', spec.entry), {
        httpApi,
        routeKey: httpRouteKey(spec.route),
        integration: new HttpLambdaIntegration(functionId('Integration', spec.entry), fn),
        authorizer,
      });
    }

    const wsAuthorizer = new WebSocketLambdaAuthorizer(
      'WebSocketAuthorizer',
      makeFunction('WsAuthorizerFn', authorizers.ws),
      { identitySource: ['route.request.querystring.token'] },
    );
    for (const spec of wsRoutes) {
      const fn = makeFunction(functionId('Ws', spec.entry), spec);
      wsApi.addRoute(spec.routeKey, {
        integration: new WebSocketLambdaIntegration(functionId('WsIntegration', spec.entry), fn),
        authorizer: spec.routeKey === '$connect' ? wsAuthorizer : undefined,
        returnResponse: spec.returnResponse,
      });
    }

    new CfnOutput(this, 'HttpApiUrl', { value: httpApi.apiEndpoint });
    new CfnOutput(this, 'WebSocketUrl', { value: wsStage.url });
  }
}

/** `ws/send-message` -> `WsSendMessage` (prefixed), a stable construct id per entry. */
function functionId(prefix: string, entry: string): string {
  const words = entry.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  return prefix + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function httpRouteKey(route: string): HttpRouteKey {
  if (route === '$default') return HttpRouteKey.DEFAULT;
  const [method, path] = route.split(' ');
  return HttpRouteKey.with(path ?? '/', HttpMethod[method as keyof typeof HttpMethod]);
}
