// `npm run check:licences`: lists every engine and artefact the project fetches to run — the Maven
// artifacts of each Java engine, the crates compiled into the DynamoDB engine, the npm packages the code
// imports at run time, and the build tools fetched for them — with its licence, and exits non-zero if
// any is not under an OSI-approved licence (or its licence cannot be read).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DYNOXIDE_VERSION, dynoxideCrateLicences } from '#local/engines/dynoxide.js';
import { type Artefact, artefact } from '#local/engines/licences.js';
import { stderrLog } from '#local/engines/log.js';
import { mavenLicences } from '#local/engines/maven.js';

const run = promisify(execFile);

// Fetched to resolve the Java engines, not shipped with them; licences as their POMs declare them.
const TOOLS: ReadonlyArray<readonly [string, string, string]> = [
  ['org.apache.maven:apache-maven', '3.9.11', 'Apache-2.0'],
  ['org.apache.maven.plugins:maven-dependency-plugin', '3.8.1', 'Apache-2.0'],
  ['org.codehaus.mojo:license-maven-plugin', '2.4.0', 'LGPL-3.0-only'],
];

async function collect(): Promise<Artefact[]> {
  const found: Artefact[] = [];
  for (const profile of ['elasticmq', 'opensearch']) {
    stderrLog(`licences: Maven artifacts of ${profile}`);
    for (const a of await mavenLicences(profile, stderrLog)) {
      found.push(
        artefact(
          { source: 'maven', usedBy: profile, name: `${a.groupId}:${a.artifactId}`, version: a.version },
          a.licences,
        ),
      );
    }
  }
  stderrLog('licences: crates of the DynamoDB engine (dynoxide)');
  for (const c of await dynoxideCrateLicences(stderrLog)) {
    found.push(
      artefact(
        { source: 'crates.io', usedBy: `dynoxide ${DYNOXIDE_VERSION}`, name: c.name, version: c.version },
        [{ name: c.license }],
      ),
    );
  }
  stderrLog('licences: npm runtime dependencies');
  const { stdout } = await run('npm', ['query', '.prod'], { maxBuffer: 64 * 1024 * 1024 });
  const packages = JSON.parse(stdout) as Array<{
    name: string;
    version: string;
    location: string;
    license?: unknown;
  }>;
  for (const p of packages) {
    if (p.location === '') continue; // the project itself
    const license = typeof p.license === 'string' ? p.license : JSON.stringify(p.license ?? '');
    found.push(
      artefact({ source: 'npm', usedBy: 'runtime', name: p.name, version: p.version }, [{ name: license }]),
    );
  }
  for (const [name, version, license] of TOOLS) {
    found.push(artefact({ source: 'tool', usedBy: 'engine fetch', name, version }, [{ name: license }]));
  }
  return found;
}

const artefacts = await collect();
const rows = artefacts
  .sort((a, b) => a.source.localeCompare(b.source) || a.name.localeCompare(b.name))
  .map((a) =>
    [
      a.osiApproved ? 'ok ' : 'BAD',
      a.source,
      a.usedBy,
      `${a.name}@${a.version}`,
      a.spdx ?? '?',
      `(${a.declared})`,
    ].join('\t'),
  );
console.log(['osi', 'source', 'used by', 'artefact', 'licence (SPDX)', '(as declared)'].join('\t'));
for (const row of rows) console.log(row);
const bad = artefacts.filter((a) => !a.osiApproved);
const bySource = new Map<string, number>();
for (const a of artefacts) bySource.set(a.source, (bySource.get(a.source) ?? 0) + 1);
console.log(
  `\n${artefacts.length} artefacts (${[...bySource].map(([s, n]) => `${s} ${n}`).join(', ')}): ` +
    `${artefacts.length - bad.length} under OSI-approved licences, ${bad.length} not`,
);
if (process.env.LICENCE_REPORT) {
  await writeFile(process.env.LICENCE_REPORT, `${JSON.stringify(artefacts, null, 2)}\n`);
}
process.exitCode = bad.length ? 1 : 0;
