import { connectToDeployment } from './target.js';

// `npm run check:invariants`: reads every relationship table and lists what is orphaned or duplicated.
const target = await connectToDeployment();
const { checkInvariants } = await import('#shared/domain/invariants.js');
const violations = await checkInvariants();
console.log(`Checked ${target}: ${violations.length} violation(s)`);
for (const v of violations) console.log(`  ${v.rule}: ${v.detail}`);
process.exit(violations.length ? 1 : 0);
