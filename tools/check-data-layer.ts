/**
 * Lint rule: only shared/data builds DynamoDB item commands and expressions.
 *
 * Fails (exit 1, one line per finding) when a file outside the allowed places
 *  - imports a DynamoDB command class (a `...Command` value from `@aws-sdk/client-dynamodb` or
 *    `@aws-sdk/lib-dynamodb`), or
 *  - writes an expression or transaction by hand (an object key such as `ConditionExpression`,
 *    `KeyConditionExpression`, `UpdateExpression`, `FilterExpression` or `TransactItems`).
 *
 * Allowed places:
 *  - shared/data/**: the persistence modules, one per aggregate; the only product code that talks to tables.
 *  - test/** and bench/**: test set-up, fault injection and benchmark floors (bare transactions measured
 *    against the product's) deliberately bypass the product code.
 *  - Table control-plane commands (create, describe, list, update, TTL, delete a table) anywhere outside
 *    shared/ and functions/: the local runtime creates the tables the CDK app declares.
 * shared/clients/dynamodb.ts constructs the client itself (no command), so it needs no exception.
 *
 * It also checks the layers' direction, so a write's path runs handler -> domain -> data -> engine with no
 * back-edge: shared/data, shared/config, shared/clients and shared/adapters import nothing from the
 * layers above them (domain, sagas, search, HTTP and WebSocket middleware), and shared/domain nothing
 * from sagas or the middleware.
 *
 * Biome has no rule for "this import only in that folder", hence this small script on the compiler's
 * own parser (no regular expressions over source text).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const SCANNED = ['shared', 'functions', 'local', 'ops', 'tools', 'infra', 'clients', 'bench', 'test'];
const SKIPPED_DIRS = new Set(['node_modules', 'cdk.out', '.data', 'dist']);
const DYNAMODB_PACKAGES = new Set(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
const CONTROL_PLANE = new Set([
  'CreateTableCommand',
  'DescribeTableCommand',
  'ListTablesCommand',
  'UpdateTableCommand',
  'DeleteTableCommand',
  'UpdateTimeToLiveCommand',
  'DescribeTimeToLiveCommand',
]);
const EXPRESSION_KEYS = new Set([
  'ConditionExpression',
  'KeyConditionExpression',
  'UpdateExpression',
  'FilterExpression',
  'TransactItems',
]);

/** For each lower layer of shared/, the layers above it that it must not import. */
const FORBIDDEN_UPWARD: Record<string, readonly string[]> = {
  data: ['domain', 'sagas', 'search', 'http', 'ws'],
  config: ['domain', 'sagas', 'search', 'http', 'ws', 'data', 'adapters'],
  clients: ['domain', 'sagas', 'search', 'http', 'ws', 'data', 'adapters'],
  adapters: ['domain', 'sagas', 'search', 'http', 'ws'],
  domain: ['sagas', 'http', 'ws'],
};

/** The shared/ layer (its first folder) of a module path, or undefined outside shared/. */
function sharedLayer(path: string): string | undefined {
  const m = /^shared\/([^/]+)\//.exec(path);
  return m?.[1];
}

/** The repository path an import specifier of `from` points to (relative or `#shared/` alias). */
function importTarget(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('#shared/')) return `shared/${specifier.slice('#shared/'.length)}`;
  if (specifier.startsWith('.')) return posix.normalize(posix.join(posix.dirname(from), specifier));
  return undefined;
}

/** Where item commands and expressions may be written (paths relative to the repository, `/`-separated). */
const itemAccessAllowed = (path: string) => /^(shared\/data|test|bench)\//.test(path);
/** Where table control-plane commands may be written: anywhere but the product's runtime code. */
const controlPlaneAllowed = (path: string) => !/^(shared|functions)\//.test(path);

function* sourceFiles(dir: string): Generator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // a folder this checkout does not have
  }
  for (const entry of entries) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

/** The findings of one file, as `path:line: message`. */
export function checkSource(path: string, text: string): string[] {
  const findings: string[] = [];
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const report = (node: ts.Node, message: string) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    findings.push(`${path}:${line + 1}: ${message}`);
  };
  const commandAllowed = (name: string) =>
    itemAccessAllowed(path) || (CONTROL_PLANE.has(name) && controlPlaneAllowed(path));
  const layer = sharedLayer(path);
  const visit = (node: ts.Node) => {
    if (
      layer &&
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const target = importTarget(path, node.moduleSpecifier.text);
      const targetLayer = target ? sharedLayer(target) : undefined;
      if (targetLayer && FORBIDDEN_UPWARD[layer]?.includes(targetLayer)) {
        report(
          node,
          `shared/${layer} imports shared/${targetLayer}: a lower layer must not depend on a higher one`,
        );
      }
    }
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      DYNAMODB_PACKAGES.has(node.moduleSpecifier.text) &&
      !node.importClause?.isTypeOnly
    ) {
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings) && !itemAccessAllowed(path)) {
        report(node, `namespace import of ${node.moduleSpecifier.text}: import from shared/data instead`);
      }
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          const name = (element.propertyName ?? element.name).text;
          if (element.isTypeOnly || !name.endsWith('Command') || commandAllowed(name)) continue;
          report(element, `${name} outside shared/data: call a persistence module in shared/data instead`);
        }
      }
    }
    if (
      (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) &&
      (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) &&
      EXPRESSION_KEYS.has(node.name.text) &&
      !itemAccessAllowed(path)
    ) {
      report(node, `${node.name.text} outside shared/data: DynamoDB expressions belong to shared/data`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const findings: string[] = [];
  for (const dir of SCANNED) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const path = relative(ROOT, file).split(sep).join('/');
      findings.push(...checkSource(path, readFileSync(file, 'utf8')));
    }
  }
  if (findings.length > 0) {
    console.error(findings.join('\n'));
    console.error(
      `data layer: ${findings.length} finding(s): DynamoDB work outside shared/data or an upward import`,
    );
    process.exit(1);
  }
  console.log(
    'data layer: every DynamoDB item command and expression is under shared/data; layers import downward only',
  );
}
