import { connectToDeployment } from './target.js';

/**
 * The frame of every search operation command: point this process at the deployment and its search
 * endpoint, run the operation, always close the search client, and exit with the operation's code
 * (2 when it threw).
 */
export async function runSearchCommand(
  run: (where: { target: string; search: string }) => Promise<number>,
): Promise<never> {
  const target = await connectToDeployment();
  const { connectToSearch } = await import('./search-target.js');
  const search = await connectToSearch();
  const { closeSearchClient } = await import('#shared/adapters/opensearch.js');
  let code: number;
  try {
    code = await run({ target, search });
  } catch (err) {
    console.error(err);
    code = 2;
  } finally {
    await closeSearchClient();
  }
  process.exit(code);
}
