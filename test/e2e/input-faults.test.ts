// Regression tests of faults found by trying the API as a new user would: each is fixed for its kind.
import { describe, expect, it } from 'vitest';
import { api } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();

describe('typing and markRead follow the send permission', () => {
  it('refuses both in a direct conversation once the two are no longer friends', async () => {
    const [a, b] = await Promise.all([signUp('ta'), signUp('tb')]);
    const conversationId = await befriend(a, b);
    const [wa, wb] = await Promise.all([connect(a.token), connect(b.token)]);
    // While friends, typing crosses.
    wa.send({ action: 'typing', conversationId });
    expect(await wb.next((f) => f.type === 'typing')).toMatchObject({ userId: a.userId });
    const sent = await wb.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'm1',
      text: 'hi',
    });
    expect(sent.type).toBe('ack');

    expect((await api(`/friends/${b.userId}`, { method: 'DELETE', token: a.token })).status).toBe(204);
    const typing = await wa.request({ action: 'typing', conversationId });
    expect(typing).toMatchObject({ type: 'error', code: 'not_friends' });
    const read = await wa.request({ action: 'markRead', conversationId, seq: 1 });
    expect(read).toMatchObject({ type: 'error', code: 'not_friends' });
    const http = await api(`/conversations/${conversationId}/read`, {
      method: 'POST',
      token: a.token,
      body: { seq: 1 },
    });
    expect(http.status).toBe(403);
    expect(http.body.error.code).toBe('not_friends');
    await expect(wb.next((f) => f.type === 'typing' || f.type === 'read', 500)).rejects.toThrow();
  });
});

describe('text must be Unicode text', () => {
  const LONE = '"x\\ud83dy"'; // JSON for a string holding a lone high surrogate

  it('refuses a body or frame nested 20,000 deep with 400 invalid_request, signed in or not', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const a = await signUp('nd');
    for (const [path, token, rawBody] of [
      ['/auth/register', undefined, `{"username":"nd${Date.now()}","password":"long enough pw","z":${deep}}`],
      ['/auth/login', undefined, `{"username":"${a.username}","password":"long enough pw","z":${deep}}`],
      ['/groups', a.token, `{"name":"deep","memberIds":[],"z":${deep}}`],
    ] as const) {
      const res = await api(path, {
        method: 'POST',
        ...(token ? { token } : {}),
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    // 15,000 deep keeps the frame under the 32 KB frame limit (a larger one closes the socket with 1009).
    const ws = await connect(a.token);
    ws.send(`{"action":"ping","requestId":"d1","z":${'['.repeat(15_000)}${']'.repeat(15_000)}}`);
    expect(await ws.next((f) => f.requestId === 'd1')).toMatchObject({
      type: 'error',
      code: 'invalid_request',
    });
  });

  it('refuses a lone surrogate in every text field with 400 invalid_request', async () => {
    const [a, b] = await Promise.all([signUp('ua'), signUp('ub')]);
    const conversationId = await befriend(a, b);
    const me = await api('/me', { token: a.token });
    const cases: Array<[string, string, string]> = [
      ['POST', `/conversations/${conversationId}/messages`, `{"clientMessageId":"l1","text":${LONE}}`],
      ['PATCH', '/me', `{"displayName":${LONE},"expectedVersion":${me.body.version}}`],
      ['PATCH', '/me', `{"bio":${LONE},"expectedVersion":${me.body.version}}`],
      ['POST', '/groups', `{"name":${LONE},"memberIds":[]}`],
      ['POST', '/friend-requests', `{"toUserId":"${b.userId}","message":${LONE}}`],
      [
        'POST',
        '/auth/register',
        `{"username":"lone${Date.now()}","password":"long enough pw","displayName":${LONE}}`,
      ],
    ];
    for (const [method, path, rawBody] of cases) {
      const res = await api(path, {
        method,
        token: a.token,
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, `${method} ${path} ${rawBody}`).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    // Search queries: a percent-encoded lone surrogate, and bytes that are no UTF-8 at all.
    for (const q of ['%ED%A0%BD', 'caf%E9', '%FF']) {
      for (const path of [`/search/messages?q=${q}`, `/users?q=${q}`]) {
        const res = await api(path, { token: a.token });
        expect(res.status, path).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
    }
    // Over the WebSocket too.
    const ws = await connect(a.token);
    ws.send(
      `{"action":"sendMessage","conversationId":"${conversationId}","clientMessageId":"l2","text":${LONE},"requestId":"r1"}`,
    );
    expect(await ws.next((f) => f.requestId === 'r1')).toMatchObject({
      type: 'error',
      code: 'invalid_request',
    });
    // Nothing was stored.
    const history = await api(`/conversations/${conversationId}/messages`, { token: a.token });
    expect(history.body.items).toEqual([]);
    expect((await api('/me', { token: a.token })).body.version).toBe(me.body.version);
  });

  it('refuses message text that is only white space (Unicode \\s), keeps text around it', async () => {
    const [a, b] = await Promise.all([signUp('wa'), signUp('wb')]);
    const conversationId = await befriend(a, b);
    for (const text of ['   \n\t ', '\u00a0\u2003\u3000', '\r\n', '\u2028\ufeff']) {
      const res = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `w${text.length}${text.charCodeAt(0)}`, text },
      });
      expect(res.status, JSON.stringify(text)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const ok = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token: a.token,
      body: { clientMessageId: 'ok', text: '  hi  ' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.text).toBe('  hi  ');
  });
});

describe('text that shows nothing', () => {
  it('refuses message text made only of invisible characters, over HTTP and WebSocket; keeps emoji ZWJ sequences', async () => {
    const [a, b] = await Promise.all([signUp('ia'), signUp('ib')]);
    const conversationId = await befriend(a, b);
    const socket = await connect(a.token);
    const invisible = ['\u200b', '\u200b\u200d', '\u2060', ' \u200c\ufe0f ', '\u3164', '\u00ad'];
    for (const [i, text] of invisible.entries()) {
      const res = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `i${i}`, text },
      });
      expect(res.status, JSON.stringify(text)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'text' });
      const frame = await socket.request({
        action: 'sendMessage',
        conversationId,
        clientMessageId: `w${i}`,
        text,
      });
      expect(frame, JSON.stringify(text)).toMatchObject({ type: 'error', code: 'invalid_request' });
    }
    // A family emoji is three emoji joined by U+200D: it shows, so it is sent.
    const family = '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}';
    const ok = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token: a.token,
      body: { clientMessageId: 'family', text: family },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.text).toBe(family);
    // Nothing invisible was stored.
    const history = await api(`/conversations/${conversationId}/messages`, { token: a.token });
    expect(history.body.items.map((m: { text: string }) => m.text)).toEqual([family]);
  });

  it('refuses a display name or group name made only of invisible characters', async () => {
    const [a, b] = await Promise.all([signUp('na'), signUp('nb')]);
    await befriend(a, b);
    const me = await api('/me', { token: a.token });
    const patch = await api('/me', {
      method: 'PATCH',
      token: a.token,
      body: { displayName: '\u200b\u2060', expectedVersion: me.body.version },
    });
    expect(patch.status).toBe(400);
    expect(patch.body.error.code).toBe('invalid_request');
    const group = await api('/groups', {
      method: 'POST',
      token: a.token,
      body: { name: '\u200b', memberIds: [b.userId] },
    });
    expect(group.status).toBe(400);
    expect(group.body.error.code).toBe('invalid_request');
  });
});

describe('search folds accents', () => {
  it('finds café with cafe and cafe with café; CJK search still works', async () => {
    const [a, b] = await Promise.all([signUp('sa'), signUp('sb')]);
    const conversationId = await befriend(a, b);
    const word = `zq${Date.now().toString(36)}`;
    for (const [i, text] of [`un café ${word}`, `北京烤鸭 ${word}`].entries()) {
      const res = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `s${i}`, text },
      });
      expect(res.status).toBe(201);
    }
    const find = async (q: string) => {
      // Search is eventually consistent: wait for the index to catch up.
      for (let i = 0; i < 100; i++) {
        const res = await api(
          `/search/messages?q=${encodeURIComponent(q)}&conversationId=${conversationId}`,
          {
            token: b.token,
          },
        );
        expect(res.status).toBe(200);
        if (res.body.items.length > 0) return res.body.items.map((h: any) => h.message.seq);
        await new Promise((r) => setTimeout(r, 200));
      }
      return [];
    };
    expect(await find(`cafe ${word}`)).toEqual([1]);
    expect(await find(`CAFÉ ${word}`)).toEqual([1]);
    expect(await find('烤鸭')).toEqual([2]);
  });
});

describe('idempotency compares the parsed body', () => {
  it('replays the same JSON in another key order or spacing, refuses another body', async () => {
    const [a, b, c] = await Promise.all([signUp('ia'), signUp('ib'), signUp('ic')]);
    const key = `k-${Date.now()}`;
    const post = (rawBody: string) =>
      api('/friend-requests', {
        method: 'POST',
        token: a.token,
        rawBody,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
      });
    const first = await post(`{"toUserId":"${b.userId}","message":"hello"}`);
    expect(first.status).toBe(201);
    const reordered = await post(`{ "message" : "hello",\n  "toUserId": "${b.userId}" }`);
    expect(reordered.status).toBe(201);
    expect(reordered.body).toEqual(first.body);
    const other = await post(`{"toUserId":"${c.userId}","message":"hello"}`);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    const pending = await api('/friend-requests?direction=outgoing', { token: a.token });
    expect(pending.body.items).toHaveLength(1);
  });
});
