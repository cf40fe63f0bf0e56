import {
  ChatApiError,
  ChatClient,
  type ClientOptions,
  type Conversation,
  type Friend,
  type Message,
  type Session,
} from '../sdk/index.js';

// The web client: plain DOM on top of the SDK, bundled for browsers by esbuild (see build.ts).

const SESSION_KEY = 'chat.session';
const $ = <T extends HTMLElement = HTMLElement>(testId: string) =>
  document.querySelector(`[data-testid="${testId}"]`) as T;
const el = (tag: string, text = '', className = '') => {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
};

let options: ClientOptions;
let client: ChatClient | undefined;
let conversations: Conversation[] = [];
let friends: Friend[] = [];
let openId: string | undefined;
/** The open conversation's messages by seq (history and live, de-duplicated by seq). */
let shown = new Map<number, Message>();
/** Read positions of the other members of the open conversation. */
let readBy = new Map<string, number>();
const names = new Map<string, string>();
let lastTypingSent = 0;
let searches = 0;
let typingTimer: ReturnType<typeof setTimeout> | undefined;

function showError(err: unknown): void {
  const text =
    err instanceof ChatApiError ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
  $('error').textContent = text;
  setTimeout(() => {
    if ($('error').textContent === text) $('error').textContent = '';
  }, 6000);
}

const nameOf = (userId: string) => names.get(userId) ?? userId.slice(0, 8);

function conversationTitle(c: Conversation): string {
  if (c.type === 'group') return c.name ?? 'Group';
  return c.peer?.displayName ?? c.name ?? 'Direct conversation';
}

async function start(): Promise<void> {
  const config = (await (await fetch('config.json')).json()) as { httpUrl: string; wsUrl: string };
  options = {
    httpUrl: config.httpUrl,
    wsUrl: config.wsUrl,
    onUnauthorized: async () => {
      signOut();
      return undefined;
    },
  };
  const saved = sessionStorage.getItem(SESSION_KEY);
  if (saved) {
    const session = JSON.parse(saved) as Session;
    if (Date.parse(session.expiresAt) > Date.now() + 60_000) return enter(new ChatClient(options, session));
  }
  $('auth').classList.remove('hidden');
}

async function authenticate(register: boolean): Promise<void> {
  const username = $<HTMLInputElement>('username').value;
  const password = $<HTMLInputElement>('password').value;
  const displayName = $<HTMLInputElement>('display-name').value || username;
  try {
    const signedIn = register
      ? await ChatClient.register(options, { username, password, displayName })
      : await ChatClient.login(options, { username, password });
    await enter(signedIn);
  } catch (err) {
    showError(err);
  }
}

async function enter(signedIn: ChatClient): Promise<void> {
  client = signedIn;
  // Kept per tab: a reload stays signed in, closing the tab signs out.
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(signedIn.session));
  names.set(signedIn.user.userId, signedIn.user.displayName);
  $('auth').classList.add('hidden');
  $('main').classList.remove('hidden');
  $('logout').classList.remove('hidden');
  $('me').textContent = `${signedIn.user.displayName} (@${signedIn.user.username})`;
  const live = signedIn.live;
  live.on('state', ({ state }) => {
    $('status').textContent = state;
  });
  live.on('message', (m) => {
    if (m.conversationId === openId) {
      shown.set(m.seq, m);
      renderMessages();
      if (document.visibilityState === 'visible') live.markRead(m.conversationId, m.seq);
    }
    void refreshConversations();
  });
  live.on('typing', (e) => {
    if (e.conversationId !== openId) return;
    $('activity').textContent = `${nameOf(e.userId)} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      $('activity').textContent = '';
    }, 3000);
  });
  live.on('read', (e) => {
    if (e.conversationId !== openId) return;
    readBy.set(e.userId, e.seq);
    renderMessages();
  });
  live.on('friendRequest', () => void refreshRequests());
  live.on('friendAccepted', () => void refreshAll());
  live.on('conversationCreated', () => void refreshConversations());
  live.on('memberJoined', () => void refreshConversations());
  live.on('memberLeft', () => void refreshConversations());
  live.on('error', (err) => showError(err));
  await refreshAll();
  await signedIn.connect();
}

function signOut(): void {
  client?.close();
  client = undefined;
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
}

async function refreshAll(): Promise<void> {
  await Promise.all([refreshRequests(), refreshFriends(), refreshConversations()]);
}

async function refreshRequests(): Promise<void> {
  if (!client) return;
  const requests = await client.http.friendRequests('incoming');
  const list = $('requests');
  list.replaceChildren();
  for (const r of requests) {
    const profile = await client.http.user(r.fromUserId).catch(() => undefined);
    const item = el('li', '', 'row');
    item.append(el('span', profile ? `${profile.displayName} (@${profile.username})` : r.fromUserId));
    const accept = el('button', 'Accept');
    accept.dataset.testid = 'accept';
    accept.onclick = () =>
      client?.http
        .acceptFriendRequest(r.requestId)
        .then(() => refreshAll())
        .catch(showError);
    item.append(accept);
    list.append(item);
  }
  if (requests.length === 0) list.append(el('li', 'None', 'meta'));
}

async function refreshFriends(): Promise<void> {
  if (!client) return;
  friends = await client.http.friends();
  const list = $('group-members');
  list.replaceChildren();
  for (const f of friends) {
    names.set(f.user.userId, f.user.displayName);
    const label = el('label', '', 'row');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = f.user.userId;
    label.append(box, document.createTextNode(f.user.displayName));
    const item = el('li');
    item.append(label);
    list.append(item);
  }
}

async function refreshConversations(): Promise<void> {
  if (!client) return;
  conversations = await client.http.conversations();
  const list = $('conversations');
  list.replaceChildren();
  for (const c of conversations) {
    if (c.peer) names.set(c.peer.userId, c.peer.displayName);
    const item = el('li', '', `conversation${c.conversationId === openId ? ' active' : ''}`);
    item.dataset.testid = 'conversation';
    item.append(el('span', conversationTitle(c)));
    const unread = c.conversationId === openId ? 0 : c.unreadCount;
    if (unread > 0) {
      const badge = el('span', String(unread), 'badge');
      badge.dataset.testid = 'unread';
      item.append(badge);
    }
    item.onclick = () => void openConversation(c.conversationId).catch(showError);
    list.append(item);
  }
  if (conversations.length === 0) list.append(el('li', 'None yet: add a friend', 'meta'));
}

async function openConversation(conversationId: string): Promise<void> {
  if (!client) return;
  openId = conversationId;
  shown = new Map();
  readBy = new Map();
  const c = conversations.find((x) => x.conversationId === conversationId);
  $('conversation-title').textContent = c ? conversationTitle(c) : 'Conversation';
  $('activity').textContent = '';
  // The last 100 messages of history; live messages after them arrive through the session.
  let afterSeq = Math.max(0, (c?.lastSeq ?? 0) - 100);
  for (;;) {
    const page = await client.http.messages(conversationId, afterSeq, 100);
    for (const m of page.items) shown.set(m.seq, m);
    afterSeq = page.items.at(-1)?.seq ?? afterSeq;
    if (!page.hasMore) break;
  }
  client.live.track(conversationId, afterSeq);
  const composerInput = $<HTMLInputElement>('message-input');
  composerInput.disabled = false;
  $<HTMLButtonElement>('send').disabled = false;
  composerInput.focus();
  renderMessages();
  if (afterSeq > 0) client.live.markRead(conversationId, afterSeq);
  void refreshConversations();
}

function renderMessages(): void {
  const box = $('messages');
  box.replaceChildren();
  const me = client?.user.userId;
  const ordered = [...shown.values()].sort((a, b) => a.seq - b.seq);
  // A send moves its sender's read position to it and no `read` event says so (docs/protocol.md), so a
  // member's own message counts as their read receipt too.
  const readUpTo = new Map(readBy);
  for (const m of ordered) readUpTo.set(m.senderId, Math.max(readUpTo.get(m.senderId) ?? 0, m.seq));
  for (const m of ordered) {
    const mine = m.senderId === me;
    const item = el('div', '', `message${mine ? ' mine' : ''}`);
    item.dataset.testid = 'message';
    item.dataset.seq = String(m.seq);
    const seenBy = mine
      ? [...readUpTo]
          .filter(([userId, seq]) => userId !== me && seq >= m.seq)
          .map(([userId]) => nameOf(userId))
      : [];
    item.append(
      el('div', m.text, 'text'),
      el(
        'div',
        `${nameOf(m.senderId)} · ${new Date(m.createdAt).toLocaleTimeString()}${seenBy.length ? ` · seen by ${seenBy.join(', ')}` : ''}`,
        'meta',
      ),
    );
    box.append(item);
  }
  box.scrollTop = box.scrollHeight;
}

$('auth').addEventListener('submit', (e) => {
  e.preventDefault();
  void authenticate(false);
});
$('register').addEventListener('click', () => void authenticate(true));
$('logout').addEventListener('click', signOut);

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = $<HTMLInputElement>('search').value.trim();
  if (!client || !q) return;
  // Only the latest search renders: an older answer arriving late must not replace it.
  const search = ++searches;
  client.http
    .searchUsers(q)
    .then((users) => {
      if (search !== searches) return;
      const list = $('search-results');
      list.replaceChildren();
      for (const u of users.filter((x) => x.userId !== client?.user.userId)) {
        const item = el('li', '', 'row');
        item.append(el('span', `${u.displayName} (@${u.username})`));
        const add = el('button', 'Add friend');
        add.dataset.testid = 'add-friend';
        add.onclick = () =>
          client?.http
            .sendFriendRequest(u.userId)
            .then(() => {
              add.textContent = 'Requested';
              return refreshAll();
            })
            .catch(showError);
        item.append(add);
        list.append(item);
      }
      if (list.children.length === 0)
        list.append(el('li', 'Nobody found (new accounts take a few seconds)', 'meta'));
    })
    .catch(showError);
});

$('group-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $<HTMLInputElement>('group-name').value.trim();
  const memberIds = [...$('group-members').querySelectorAll<HTMLInputElement>('input:checked')].map(
    (b) => b.value,
  );
  if (!client || !name) return;
  client.http
    .createGroup(name, memberIds)
    .then(() => {
      $<HTMLInputElement>('group-name').value = '';
      return refreshConversations();
    })
    .catch(showError);
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('message-input');
  const text = input.value;
  if (!client || !openId || !text.trim()) return;
  input.value = '';
  // The outbox keeps order and retries across reconnects; the message shows once stored.
  client.live.send(openId, text).catch(showError);
});

$('message-input').addEventListener('input', () => {
  if (!client || !openId || Date.now() - lastTypingSent < 2000) return;
  lastTypingSent = Date.now();
  client.live.typing(openId);
});

start().catch(showError);
