import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/** Screenshots of each browser window, kept as test artefacts (git ignores the folder). */
const ARTIFACTS = new URL('../../artifacts/', import.meta.url);

/** Debian's chromium package (`.ci/run` installs it); CHROMIUM_PATH overrides. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
    encoding: 'utf8',
  }).trim();
}

/** Live updates and registration (scrypt) take a moment on a busy machine. */
const WAIT = { timeout: 20_000, interval: 100 };

const unique = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function register(page: Page, username: string, displayName: string): Promise<void> {
  await page.goto(inject('webUrl'));
  await page.getByTestId('username').fill(username);
  await page.getByTestId('password').fill('a long enough password');
  await page.getByTestId('display-name').fill(displayName);
  await page.getByTestId('register').click();
  await expect.poll(() => page.getByTestId('me').textContent(), WAIT).toContain(`@${username}`);
  await expect.poll(() => page.getByTestId('status').textContent(), WAIT).toBe('open');
}

/** Searches until the (eventually consistent) user search finds the name, then asks for friendship. */
async function addFriend(page: Page, username: string): Promise<void> {
  const add = page.getByTestId('search-results').getByTestId('add-friend');
  await expect
    .poll(
      async () => {
        await page.getByTestId('search').fill(username);
        await page.getByTestId('search').press('Enter');
        await page.waitForTimeout(300);
        return add.count();
      },
      { timeout: 30_000, interval: 500 },
    )
    .toBe(1);
  await add.click();
  await expect.poll(() => add.textContent(), WAIT).toBe('Requested');
}

async function openFirstConversation(page: Page): Promise<void> {
  const item = page.getByTestId('conversation').first();
  await item.waitFor({ timeout: 20_000 });
  await item.click();
  await expect.poll(() => page.getByTestId('message-input').isEnabled(), WAIT).toBe(true);
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

const texts = (page: Page) => page.getByTestId('messages').locator('.text').allTextContents();

describe('web client in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('two people register, befriend and chat, live and after a reload', async () => {
    const [aliceContext, bobContext] = await Promise.all([browser.newContext(), browser.newContext()]);
    const [alice, bob] = await Promise.all([aliceContext.newPage(), bobContext.newPage()]);
    const pageErrors: string[] = [];
    for (const page of [alice, bob]) page.on('pageerror', (err) => pageErrors.push(err.message));
    const aliceName = unique('alice');
    const bobName = unique('bob');
    try {
      await register(alice, aliceName, 'Alice');
      await register(bob, bobName, 'Bob');

      await addFriend(alice, bobName);
      // Bob's request list updates live (friendRequest event).
      await bob.getByTestId('requests').getByTestId('accept').click({ timeout: 20_000 });
      await openFirstConversation(bob);
      // Alice's conversation list updates live (friendAccepted event).
      await openFirstConversation(alice);

      await say(alice, 'Hello Bob');
      await expect.poll(() => texts(bob), { timeout: 20_000 }).toEqual(['Hello Bob']);
      await say(bob, 'Hi Alice!');
      await expect.poll(() => texts(alice), { timeout: 20_000 }).toEqual(['Hello Bob', 'Hi Alice!']);
      // Typing and read receipts arrive live too.
      await bob.getByTestId('message-input').pressSequentially('typing…');
      await expect
        .poll(() => alice.getByTestId('activity').textContent(), { timeout: 10_000 })
        .toContain('Bob is typing');
      await expect
        .poll(() => alice.getByTestId('message').first().textContent(), { timeout: 10_000 })
        .toContain('seen by Bob');

      await alice.screenshot({ path: new URL('web-alice-live.png', ARTIFACTS).pathname });
      await bob.screenshot({ path: new URL('web-bob-live.png', ARTIFACTS).pathname });

      // After a reload both are still signed in and the history is there.
      for (const page of [alice, bob]) {
        await page.reload();
        await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('open');
        await openFirstConversation(page);
        await expect.poll(() => texts(page), WAIT).toEqual(['Hello Bob', 'Hi Alice!']);
      }
      // And live delivery works on the reloaded pages.
      await say(bob, 'Still here');
      await expect
        .poll(() => texts(alice), { timeout: 20_000 })
        .toEqual(['Hello Bob', 'Hi Alice!', 'Still here']);

      await alice.screenshot({ path: new URL('web-alice-after-reload.png', ARTIFACTS).pathname });
      await bob.screenshot({ path: new URL('web-bob-after-reload.png', ARTIFACTS).pathname });
      expect(pageErrors).toEqual([]);
    } finally {
      await Promise.all([aliceContext.close(), bobContext.close()]);
    }
  }, 180_000);
});
