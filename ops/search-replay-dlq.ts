import { runSearchCommand } from './search-command.js';

// Replays the search indexer's dead-letter queue: re-reads each failed batch from its stream and
// indexes its items' current state, or reconciles the table when the records are no longer there.
await runSearchCommand(async ({ target, search }) => {
  const { replayDeadLetters } = await import('#shared/search/dead-letters.js');
  console.log(
    `Replaying ${process.env.SEARCH_DLQ_URL ?? '(SEARCH_DLQ_URL unset)'} into ${search} (${target})`,
  );
  const r = await replayDeadLetters({ log: (l) => console.log(`  ${l}`) });
  console.log(
    `${r.received} message(s): ${r.deleted} handled and deleted, ${r.kept} kept; ${r.records} stream records re-read, ` +
      `${r.applied} documents written or removed, ${r.superseded} already current, ${r.failed} failed` +
      (r.reconciled.length ? `; reconciled ${r.reconciled.join(', ')}` : ''),
  );
  return r.kept ? 1 : 0;
});
