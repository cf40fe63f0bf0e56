import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, httpUrl, wsUrl } from '../support/clients.js';
import { signUp } from '../support/e2e-users.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const session = `chat-test-${process.pid}-${Date.now().toString(36)}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
/** What the pseudo-terminal shows now (and its scrollback). */
const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
/** Types a line into the terminal client, as a person would, and presses Enter. */
const type = (text: string) => {
  tmux('send-keys', '-t', session, '-l', text);
  tmux('send-keys', '-t', session, 'Enter');
};
const WAIT = { timeout: 30_000, interval: 200 };
const shows = (text: string) => expect.poll(screen, WAIT).toContain(text);

describe('terminal client (npm run chat) in a pseudo-terminal', () => {
  afterAll(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });

  it('registers, befriends, lists unread, chats live with typing and read receipts, creates a group', async () => {
    const username = `term${Date.now().toString(36)}`.slice(0, 20);
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '50',
      '-c',
      ROOT,
      `CHAT_HTTP_URL=${httpUrl()} CHAT_WS_URL=${wsUrl()} npm run chat`,
    );
    await shows('/register or /login to start');
    type(`/register ${username}`);
    await shows('password:');
    type('a long enough password');
    await shows('display name:');
    type('Terry');
    await shows(`signed in as Terry (@${username})`);
    expect(screen()).not.toContain('a long enough password');

    // Bob, on the API, asks; the terminal shows the request live, then accepts it.
    const bob = await signUp('bob');
    const me = (
      await api('/auth/login', { method: 'POST', body: { username, password: 'a long enough password' } })
    ).body.user.userId as string;
    expect(
      (await api('/friend-requests', { method: 'POST', token: bob.token, body: { toUserId: me } })).status,
    ).toBe(201);
    await shows('* friend request from');
    type('/requests');
    await shows('1. from bob');
    type('/accept 1');
    await shows('you and bob are friends now');

    // Two messages while the conversation is closed: unread count in the list.
    const conversationId = (await api('/conversations', { token: bob.token })).body.items[0]
      .conversationId as string;
    for (const text of ['first from bob', 'second from bob']) {
      const sent = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: bob.token,
        body: { clientMessageId: text, text },
      });
      expect(sent.status).toBe(201);
    }
    await shows('new message in @ bob from bob');
    type('/list');
    await shows('1. @ bob  (2 unread)');
    type('/open 1');
    await shows('bob: second from bob');

    // Live: Bob types, then writes; Terry answers; Bob reads it.
    const socket = new WebSocket(`${wsUrl()}?token=${bob.token}`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ action: 'typing', conversationId }));
    await shows('* bob is typing…');
    socket.send(
      JSON.stringify({
        action: 'sendMessage',
        conversationId,
        clientMessageId: 'live-1',
        text: 'live from bob',
      }),
    );
    await shows('bob: live from bob');
    type('hello from the terminal');
    await shows('Terry: hello from the terminal');
    const history = await api(`/conversations/${conversationId}/messages`, { token: bob.token });
    expect(history.body.items.map((m: { text: string }) => m.text)).toEqual([
      'first from bob',
      'second from bob',
      'live from bob',
      'hello from the terminal',
    ]);
    socket.send(JSON.stringify({ action: 'markRead', conversationId, seq: 4 }));
    await shows('* bob read up to #4');
    socket.close();

    type(`/group Team ${bob.username}`);
    await shows('created group Team');
    const bobs = await api('/conversations', { token: bob.token });
    expect(bobs.body.items.map((c: { name: string | null }) => c.name)).toContain('Team');
  }, 120_000);
});
