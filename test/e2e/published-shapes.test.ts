import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { serverFrame } from '#shared/protocol/events.js';
import {
  changesPage,
  conversation,
  conversationDetail,
  conversationsPage,
  errorBody,
  friendAccepted,
  friendRequest,
  friendsPage,
  health,
  historyPage,
  message,
  publicProfile,
  session,
  user,
} from '#shared/protocol/objects.js';
import { api, WsClient } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';

/** The answer has exactly the published shape: it parses, and parsing drops no field. */
const published = (schema: z.ZodType, value: unknown) => expect(schema.parse(value)).toEqual(value);

describe('answers have the shapes the OpenAPI and AsyncAPI documents publish', () => {
  it('HTTP objects and WebSocket frames', async () => {
    const username = `shape${Date.now().toString(36)}`;
    const registered = await api('/auth/register', {
      method: 'POST',
      body: { username, password: 'a long enough password', displayName: 'Shape' },
    });
    published(session, registered.body);
    const token = registered.body.token as string;
    published(user, (await api('/me', { token })).body);
    published(errorBody, (await api('/me')).body);

    const bob = await signUp('shapeb');
    published(publicProfile, (await api(`/users/${bob.userId}`, { token })).body);
    const request = await api('/friend-requests', { method: 'POST', token, body: { toUserId: bob.userId } });
    published(friendRequest, request.body);
    const accepted = await api(`/friend-requests/${request.body.requestId}/accept`, {
      method: 'POST',
      token: bob.token,
    });
    published(friendAccepted, accepted.body);
    published(friendsPage, (await api('/friends', { token })).body);

    const conversationId = accepted.body.conversationId as string;
    const sent = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token,
      body: { clientMessageId: 'shape-1', text: 'shape' },
    });
    published(message, sent.body);
    const firstPage = await api('/conversations?limit=1', { token });
    published(conversationsPage, firstPage.body);
    for (const c of firstPage.body.items) published(conversation, c);
    published(conversationDetail, (await api(`/conversations/${conversationId}`, { token })).body);

    const ws = await WsClient.connect(bob.token);
    try {
      published(serverFrame, await ws.request({ action: 'ping' }));
      published(serverFrame, await ws.request({ action: 'sync', conversationId, afterSeq: 0 }));
      published(
        serverFrame,
        await ws.request({
          action: 'sendMessage',
          conversationId,
          clientMessageId: 'shape-2',
          text: 'ws shape',
        }),
      );
      published(serverFrame, await ws.request({ action: 'dance' }));
    } finally {
      await ws.close();
    }

    const healthAnswer = await api('/health');
    published(healthAnswer.status === 200 ? health : errorBody, healthAnswer.body);
    const notJson = await api('/me', {
      method: 'PATCH',
      token,
      rawBody: 'displayName=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJson.status).toBe(415);
    published(errorBody, notJson.body);

    // Password change: a fresh session; the old token's socket gets sessionEnded, then is closed.
    const live = await WsClient.connect(token);
    const closed = new Promise<number>((resolve) => live.socket.once('close', (code) => resolve(code)));
    const changed = await api('/auth/password', {
      method: 'POST',
      token,
      body: { currentPassword: 'a long enough password', newPassword: 'another long enough password' },
    });
    expect(changed.status).toBe(200);
    published(session, changed.body);
    const ended = await live.next((f) => f.type === 'sessionEnded');
    published(serverFrame, ended);
    expect(ended).toEqual({ type: 'sessionEnded', reason: 'token_revoked' });
    expect(await closed).toBe(1000);

    const logout = await api('/auth/logout', { method: 'POST', token: changed.body.token });
    expect(logout.status).toBe(204);
    published(errorBody, (await api('/me', { token: changed.body.token })).body);
  });

  it('edits, deletions, reactions, replies, changes and their events', async () => {
    const [a, b] = await Promise.all([signUp('shapea'), signUp('shapeb')]);
    const conversationId = await befriend(a, b);
    const base = `/conversations/${conversationId}/messages`;
    const parent = await api(base, {
      method: 'POST',
      token: a.token,
      body: { clientMessageId: 'p', text: 'p' },
    });
    published(message, parent.body);
    const reply = await api(base, {
      method: 'POST',
      token: b.token,
      body: { clientMessageId: 'r', text: 'r', replyTo: { seq: 1 } },
    });
    published(message, reply.body);
    const wb = await WsClient.connect(b.token);
    const wa = await WsClient.connect(a.token);
    try {
      published(
        message,
        (await api(`${base}/1`, { method: 'PATCH', token: a.token, body: { text: 'p2' } })).body,
      );
      published(serverFrame, await wb.next((f) => f.type === 'messageEdited'));
      const reacted = await api(`${base}/1/reactions`, {
        method: 'POST',
        token: b.token,
        body: { emoji: '👍' },
      });
      published(message, reacted.body);
      published(serverFrame, await wa.next((f) => f.type === 'reaction'));
      published(serverFrame, await wa.request({ action: 'react', conversationId, seq: 2, emoji: '🎉' }));
      published(serverFrame, await wa.request({ action: 'editMessage', conversationId, seq: 1, text: 'p3' }));
      published(
        message,
        (await api(`${base}/1/reactions/${encodeURIComponent('👍')}`, { method: 'DELETE', token: b.token }))
          .body,
      );
      expect((await api(`${base}/2`, { method: 'DELETE', token: b.token })).status).toBe(204);
      published(serverFrame, await wa.next((f) => f.type === 'messageDeleted'));
      published(serverFrame, await wb.request({ action: 'deleteMessage', conversationId, seq: 2 }));
      published(
        serverFrame,
        await wb.request({ action: 'sync', conversationId, afterSeq: 0, afterChangeSeq: 0 }),
      );
      published(serverFrame, await wb.request({ action: 'react', conversationId, seq: 2, emoji: 'no' }));
    } finally {
      await Promise.all([wa.close(), wb.close()]);
    }
    const history = await api(base, { token: b.token });
    published(historyPage, history.body);
    expect(history.body.items[0]).toMatchObject({ version: 3, editedAt: expect.any(String) });
    published(changesPage, (await api(`/conversations/${conversationId}/changes`, { token: b.token })).body);
    published(
      errorBody,
      (await api(`${base}/1`, { method: 'PATCH', token: b.token, body: { text: 'x' } })).body,
    );
  });

  it('a deleted account: sessionEnded on its socket, and its profile as others see it', async () => {
    const [gone, stays] = await Promise.all([signUp('shapegone'), signUp('shapestays')]);
    await befriend(stays, gone);
    const ws = await WsClient.connect(gone.token);
    const closed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));
    const started = await api('/me', { method: 'DELETE', token: gone.token });
    expect(started.status).toBe(202);
    const ended = await ws.next((f) => f.type === 'sessionEnded', 60_000);
    published(serverFrame, ended);
    expect(ended).toEqual({ type: 'sessionEnded', reason: 'account_closed' });
    expect(await closed).toBe(1000);
    let status = 'running';
    while (status === 'running') {
      await new Promise((r) => setTimeout(r, 200));
      const op = await api(`/operations/${started.body.operationId}`, { token: gone.token });
      status = op.status === 200 ? op.body.status : 'gone';
    }
    // The account itself is gone; only where others met it does a profile remain.
    const lookup = await api(`/users/${gone.userId}`, { token: stays.token });
    expect(lookup.status).toBe(404);
    published(errorBody, lookup.body);
    const conversations = (await api('/conversations', { token: stays.token })).body;
    published(conversationsPage, conversations);
    const peer = conversations.items[0]?.peer;
    published(publicProfile, peer);
    expect(peer).toEqual({
      userId: gone.userId,
      username: '',
      displayName: 'Deleted account',
      bio: '',
      deleted: true,
    });
    published(friendsPage, (await api('/friends', { token: stays.token })).body);
  }, 180_000);
});
