// Licences of everything the project fetches to run: the engines and their Maven dependencies, the
// crates compiled into the DynamoDB engine, and the npm packages the code imports at run time.
// A licence passes when its SPDX expression can be satisfied with OSI-approved licences only.

import correctSpdx from 'spdx-correct';
import parseSpdx from 'spdx-expression-parse';
import spdxLicences from 'spdx-license-list';

/** One fetched artefact and the licence it declares. */
export interface Artefact {
  /** Where it comes from: "maven", "crates.io", "npm", "tool". */
  source: string;
  /** What fetches it: an engine name, or "runtime" for npm dependencies. */
  usedBy: string;
  name: string;
  version: string;
  /** As declared (a POM's licence names, a crate's or package's `license` field). */
  declared: string;
  /** The SPDX expression it was read as; undefined when it could not be read. */
  spdx?: string;
  /** True when the expression can be met with OSI-approved licences only. */
  osiApproved: boolean;
}

// Names and URLs that spdx-correct guesses wrong or not at all (it would read "GPL2 w/ CPE" as
// GPL-3.0-or-later, and the Eclipse Distribution License as EPL-1.0). Checked before it.
const ALIASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^GPL ?2 w\/ CPE$|GPLv2 with classpath exception/i, 'GPL-2.0-only WITH Classpath-exception-2.0'],
  [/Eclipse Distribution License/i, 'BSD-3-Clause'],
  [/^Public Domain$/i, 'CC0-1.0'],
];
const URL_ALIASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/apache\.org\/licenses\/LICENSE-2\.0/i, 'Apache-2.0'],
  [/opensource\.org\/licenses\/mit/i, 'MIT'],
  [/eclipse\.org\/legal\/epl-v10/i, 'EPL-1.0'],
  [/eclipse\.org\/legal\/epl-2\.0|eclipse\.org\/legal\/epl-v20/i, 'EPL-2.0'],
  [/gnu\.org\/licenses\/old-licenses\/lgpl-2\.1/i, 'LGPL-2.1-only'],
  [/mozilla\.org\/MPL\/2\.0/i, 'MPL-2.0'],
];

/** A licence name (and optional URL) as an SPDX expression, or undefined. */
export function toSpdx(name: string, url?: string): string | undefined {
  const trimmed = name.trim();
  try {
    parseSpdx(trimmed);
    return trimmed;
  } catch {
    // Not an SPDX expression: try the aliases, the URL, then spdx-correct.
  }
  for (const [pattern, id] of ALIASES) if (pattern.test(trimmed)) return id;
  for (const [pattern, id] of URL_ALIASES) if (url && pattern.test(url)) return id;
  // Old npm and crates metadata write "MIT/Apache-2.0" for "MIT OR Apache-2.0".
  if (trimmed.includes('/')) {
    const parts = trimmed.split('/').map((p) => toSpdx(p));
    if (parts.every(Boolean)) return parts.join(' OR ');
  }
  return correctSpdx(trimmed) ?? undefined;
}

type SpdxNode = ReturnType<typeof parseSpdx>;

function satisfiable(node: SpdxNode): boolean {
  if ('conjunction' in node) {
    return node.conjunction === 'or'
      ? satisfiable(node.left) || satisfiable(node.right)
      : satisfiable(node.left) && satisfiable(node.right);
  }
  const id = node.license.replace(/\+$/, '');
  // spdx-license-list knows the deprecated plain GPL ids too; its osiApproved mirrors SPDX's list.
  return spdxLicences[id]?.osiApproved === true;
}

/** Whether an SPDX expression can be met with OSI-approved licences only (false if unparsable). */
export function isOsiApproved(expression: string | undefined): boolean {
  if (!expression) return false;
  try {
    return satisfiable(parseSpdx(expression));
  } catch {
    return false;
  }
}

/**
 * An artefact from its declared licences. Several entries (a POM's `<licenses>` list) mean the
 * artefact is offered under any of them, as Maven's convention for dual licensing goes.
 */
export function artefact(
  fields: Omit<Artefact, 'declared' | 'spdx' | 'osiApproved'>,
  licences: ReadonlyArray<{ name: string; url?: string }>,
): Artefact {
  const ids = licences.map((l) => toSpdx(l.name, l.url));
  const spdx =
    ids.length && ids.every(Boolean)
      ? [...new Set(ids as string[])].map((id) => (id.includes(' ') ? `(${id})` : id)).join(' OR ')
      : undefined;
  return {
    ...fields,
    declared: licences.map((l) => l.name).join(' | ') || '(none declared)',
    spdx,
    osiApproved: isOsiApproved(spdx),
  };
}
