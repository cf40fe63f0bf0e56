// Which deployment an operational command works on. With every table variable set (e.g. from a deployed
// stack's outputs) it is that AWS deployment, reached with the standard AWS configuration. Otherwise it is
// the running local runtime: the one edge from ops/ into local/, imported only then, so that a command run
// against AWS loads no local runtime code.
import { tableEnvVar, tableNames } from '#shared/config/table-names.js';

/** Points this process at the deployment to operate on; returns a description of it for the log. */
export async function connectToDeployment(): Promise<string> {
  if (tableNames.every((name) => process.env[tableEnvVar(name)])) return 'the configured AWS deployment';
  const { connectToLocalRuntime } = await import('#local/runtime-target.js');
  return connectToLocalRuntime();
}
