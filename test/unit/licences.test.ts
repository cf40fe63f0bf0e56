import { describe, expect, it } from 'vitest';
import { artefact, isOsiApproved, toSpdx } from '#local/engines/licences.js';

const fields = { source: 'maven', usedBy: 'test', name: 'g:a', version: '1' };

describe('licence check', () => {
  it('reads the licence names found in POMs as SPDX ids', () => {
    expect(toSpdx('The Apache Software License, Version 2.0')).toBe('Apache-2.0');
    expect(toSpdx('Eclipse Public License - v 1.0')).toBe('EPL-1.0');
    expect(toSpdx('GPL2 w/ CPE')).toBe('GPL-2.0-only WITH Classpath-exception-2.0');
    expect(toSpdx('Eclipse Distribution License - v 1.0')).toBe('BSD-3-Clause');
    expect(toSpdx('MIT/Apache-2.0')).toBe('MIT OR Apache-2.0');
    expect(
      toSpdx('GNU Lesser General Public License', 'http://www.gnu.org/licenses/old-licenses/lgpl-2.1.html'),
    ).toBe('LGPL-2.1-only');
  });

  it('passes expressions that OSI-approved licences alone can satisfy', () => {
    expect(isOsiApproved('MIT OR Apache-2.0')).toBe(true);
    expect(isOsiApproved('(MIT OR Apache-2.0) AND Unicode-3.0')).toBe(true);
    expect(isOsiApproved('SSPL-1.0 OR MIT')).toBe(true);
    expect(isOsiApproved('GPL-2.0-only WITH Classpath-exception-2.0')).toBe(true);
  });

  it('fails source-available, non-OSI and unreadable licences', () => {
    expect(isOsiApproved('SSPL-1.0')).toBe(false);
    expect(isOsiApproved('BUSL-1.1')).toBe(false);
    expect(isOsiApproved('MIT AND BUSL-1.1')).toBe(false);
    expect(isOsiApproved('CC0-1.0')).toBe(false);
    expect(isOsiApproved(undefined)).toBe(false);
    expect(artefact(fields, [{ name: 'Amazon Software License' }]).osiApproved).toBe(false);
    expect(artefact(fields, []).osiApproved).toBe(false);
  });

  it('reads several licences of one POM as a choice between them', () => {
    const dual = artefact(fields, [
      { name: 'Eclipse Public License - v 1.0' },
      {
        name: 'GNU Lesser General Public License',
        url: 'https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html',
      },
    ]);
    expect(dual.spdx).toBe('EPL-1.0 OR LGPL-2.1-only');
    expect(dual.osiApproved).toBe(true);
  });
});
