#!/usr/bin/env bash
# Starts LocalStack, deploys the chat stack to it with cdklocal and runs the end-to-end suite against the
# deployment. One command (from the repository root):
#
#   LOCALSTACK_AUTH_TOKEN=<token> npm run localstack:e2e
#
# Options: --deploy-only (no tests), --test-only (tests against the last deployment).
# Settings (environment, all optional) are listed in localstack/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  --deploy-only) mode=deploy ;;
  --test-only) mode=test ;;
  '') ;;
  *) echo "usage: $0 [--deploy-only | --test-only]" >&2; exit 2 ;;
esac

stage=${STAGE:-dev}
region=${LOCALSTACK_REGION:-us-east-1}
health_url=${LOCALSTACK_HEALTH_URL:-http://localhost:4566/_localstack/health}
out_dir=localstack/.outputs
outputs=$out_dir/cdk-outputs.json
e2e_outputs=$out_dir/e2e-outputs.json

# How the stack reaches LocalStack where it differs from AWS (see "Differences from AWS" in the README).
# Placeholders are filled at deploy time by the stack (infra/stage.ts).
ws_callback_url=${LOCALSTACK_WS_CALLBACK_URL:-http://localhost.localstack.cloud:4566}
ws_url=${LOCALSTACK_WS_URL:-'{wsApiEndpoint}/{stage}'}
search_endpoint=${LOCALSTACK_SEARCH_ENDPOINT:-'http://{domainEndpoint}'}

# cdklocal drops AWS_* variables it is not told to keep, and talks to LocalStack with test credentials.
export AWS_REGION=$region AWS_DEFAULT_REGION=$region
export AWS_ENVAR_ALLOWLIST=AWS_REGION,AWS_DEFAULT_REGION

if [[ $mode != test ]]; then
  : "${LOCALSTACK_AUTH_TOKEN:?LocalStack needs an auth token: export LOCALSTACK_AUTH_TOKEN (see localstack/README.md)}"
  command -v docker >/dev/null || { echo "docker is required (LocalStack runs in Docker)" >&2; exit 1; }

  echo "== starting LocalStack"
  docker compose -f localstack/docker-compose.yml up -d
  for i in $(seq 1 90); do
    if node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$health_url"; then
      break
    fi
    if [[ $i == 90 ]]; then
      echo "LocalStack did not become healthy at $health_url; its last log lines:" >&2
      docker compose -f localstack/docker-compose.yml logs --tail 40 >&2
      exit 1
    fi
    sleep 2
  done

  echo "== bootstrapping (account 000000000000, $region)"
  npx cdklocal bootstrap "aws://000000000000/$region"

  echo "== deploying Chat-$stage"
  mkdir -p "$out_dir"
  npx cdklocal deploy "Chat-$stage" \
    -c "stage=$stage" \
    -c "wsCallbackUrl=$ws_callback_url" \
    -c "wsUrl=$ws_url" \
    -c "searchEndpoint=$search_endpoint" \
    -c searchSigning=none \
    --require-approval never \
    --outputs-file "$outputs"
fi

if [[ $mode != deploy ]]; then
  [[ -f $outputs ]] || { echo "no $outputs: deploy first" >&2; exit 1; }
  # LocalStack's edge serves plain HTTP and WebSocket on 4566; its TLS certificate is not guaranteed to
  # cover the API hosts it reports, so the suite uses http:// and ws:// unless LOCALSTACK_PLAIN_HTTP=0.
  node -e '
    const fs = require("node:fs");
    const [from, to, plain] = process.argv.slice(1);
    const outputs = JSON.parse(fs.readFileSync(from, "utf8"));
    for (const stack of Object.values(outputs)) {
      for (const key of ["HttpApiUrl", "WebSocketUrl"]) {
        if (plain !== "0" && stack[key]) stack[key] = stack[key].replace(/^https:/, "http:").replace(/^wss:/, "ws:");
      }
    }
    fs.writeFileSync(to, `${JSON.stringify(outputs, null, 2)}\n`);
    for (const [name, stack] of Object.entries(outputs)) console.log(`${name}: ${stack.HttpApiUrl} ${stack.WebSocketUrl}`);
  ' "$outputs" "$e2e_outputs" "${LOCALSTACK_PLAIN_HTTP:-1}"

  echo "== end-to-end suite against LocalStack"
  E2E_OUTPUTS_FILE=$e2e_outputs npm run test:e2e
fi

echo "== done; LocalStack keeps running (npm run localstack:down stops it and deletes its state)"
