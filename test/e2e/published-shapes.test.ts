import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { serverFrame } from '#shared/protocol/events.js';
import {
  conversation,
  conversationDetail,
  errorBody,
  friend,
  friendAccepted,
  friendRequest,
  message,
  publicProfile,
  session,
  user,
} from '#shared/protocol/objects.js';
import { api, WsClient } from '../support/clients.js';
import { signUp } from '../support/e2e-users.js';

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
    for (const f of (await api('/friends', { token })).body.items) published(friend, f);

    const conversationId = accepted.body.conversationId as string;
    const sent = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token,
      body: { clientMessageId: 'shape-1', text: 'shape' },
    });
    published(message, sent.body);
    for (const c of (await api('/conversations', { token })).body.items) published(conversation, c);
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
      ws.close();
    }
  });
});
