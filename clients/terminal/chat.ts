import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import {
  ChatApiError,
  ChatClient,
  type ClientOptions,
  type Conversation,
  type FriendRequest,
  type Message,
  type SocketLike,
} from '../sdk/index.js';

// `npm run chat`: a line-oriented terminal client on the SDK. Plain lines are messages to the open
// conversation; commands start with a slash (/help lists them).

const httpUrl = process.env.CHAT_HTTP_URL ?? 'http://127.0.0.1:3000';
const wsUrl = process.env.CHAT_WS_URL ?? 'ws://127.0.0.1:3001';

/** Output that can be muted while a password is typed. */
let muted = false;
const output = new Writable({
  write(chunk, _encoding, done) {
    if (!muted) process.stdout.write(chunk);
    done();
  },
});
const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true });

const options: ClientOptions = {
  httpUrl,
  wsUrl,
  // Node.js 20 has no global WebSocket; the ws package implements the same interface.
  socketFactory: (url) => new WebSocket(url) as unknown as SocketLike,
  onUnauthorized: async () => {
    say('! the session expired: /login again');
    return undefined;
  },
};

let client: ChatClient | undefined;
let conversations: Conversation[] = [];
let requests: FriendRequest[] = [];
let openId: string | undefined;
const names = new Map<string, string>();
let lastTyping = 0;

/** Prints a line above the prompt without mangling what the user is typing. */
function say(line: string): void {
  output.write(`\r\x1b[K${line}\n`);
  rl.prompt(true);
}

const nameOf = (userId: string) => names.get(userId) ?? userId.slice(0, 8);
const title = (c: Conversation) =>
  c.type === 'group' ? `# ${c.name ?? 'group'}` : `@ ${c.peer?.displayName ?? 'direct'}`;
const line = (m: Message) =>
  `[${new Date(m.createdAt).toLocaleTimeString()}] ${nameOf(m.senderId)}: ${m.text}`;

function ask(question: string, secret = false): Promise<string> {
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      if (secret) {
        muted = false;
        output.write('\n');
      }
      resolve(answer);
    });
    if (secret) muted = true;
  });
}

async function signIn(register: boolean, username: string | undefined): Promise<void> {
  const user = username ?? (await ask('username: '));
  const password = await ask('password: ', true);
  const signedIn = register
    ? await ChatClient.register(options, {
        username: user,
        password,
        displayName: (await ask('display name: ')) || user,
      })
    : await ChatClient.login(options, { username: user, password });
  client?.close();
  client = signedIn;
  names.set(signedIn.user.userId, signedIn.user.displayName);
  wire(signedIn);
  await signedIn.connect();
  say(`signed in as ${signedIn.user.displayName} (@${signedIn.user.username})`);
  await list();
}

function wire(c: ChatClient): void {
  c.live.on('state', ({ state }) => {
    if (state !== 'open' && state !== 'connecting') say(`* connection ${state}`);
  });
  c.live.on('message', (m) => {
    if (m.conversationId === openId) {
      say(line(m));
      c.live.markRead(m.conversationId, m.seq);
    } else if (m.senderId !== c.user.userId) {
      const conv = conversations.find((x) => x.conversationId === m.conversationId);
      say(`* new message in ${conv ? title(conv) : 'a conversation'} from ${nameOf(m.senderId)}`);
    }
  });
  c.live.on('typing', (e) => {
    if (e.conversationId === openId) say(`* ${nameOf(e.userId)} is typing…`);
  });
  c.live.on('read', (e) => {
    if (e.conversationId === openId) say(`* ${nameOf(e.userId)} read up to #${e.seq}`);
  });
  c.live.on('friendRequest', (e) => {
    say(`* friend request from ${e.request.fromUserId.slice(0, 8)}… (/requests to see it)`);
  });
  c.live.on('friendAccepted', (e) => {
    names.set(e.friend.userId, e.friend.displayName);
    say(`* you and ${e.friend.displayName} are friends now (/list)`);
  });
  c.live.on('conversationCreated', (e) => say(`* added to ${title(e.conversation)} (/list)`));
  c.live.on('throttled', (t) => say(`* slowing down: retry in ${t.retryAfterMs} ms`));
  c.live.on('error', (err) => say(`! ${err.code}: ${err.message}`));
}

function need(): ChatClient {
  if (!client) throw new Error('sign in first: /login or /register');
  return client;
}

async function list(): Promise<void> {
  conversations = await need().http.conversations();
  if (conversations.length === 0) return say('no conversations yet: /add <username> to find a friend');
  conversations.forEach((c, i) => {
    if (c.peer) names.set(c.peer.userId, c.peer.displayName);
    const unread = c.unreadCount > 0 ? `  (${c.unreadCount} unread)` : '';
    say(`${i + 1}. ${title(c)}${unread}`);
  });
}

async function open(index: string | undefined): Promise<void> {
  const c = conversations[Number(index) - 1];
  if (!c) return say('usage: /open <number from /list>');
  const me = need();
  openId = c.conversationId;
  const page = await me.http.messages(c.conversationId, Math.max(0, c.lastSeq - 20), 20);
  say(`--- ${title(c)} ---`);
  for (const m of page.items) say(line(m));
  const last = page.items.at(-1)?.seq ?? c.lastSeq;
  me.live.track(c.conversationId, last);
  if (last > 0) me.live.markRead(c.conversationId, last);
}

async function showRequests(): Promise<void> {
  requests = await need().http.friendRequests('incoming');
  if (requests.length === 0) return say('no pending friend requests');
  for (const [i, r] of requests.entries()) {
    const from = await need()
      .http.user(r.fromUserId)
      .catch(() => undefined);
    say(
      `${i + 1}. from ${from ? `${from.displayName} (@${from.username})` : r.fromUserId}${r.message ? `: ${r.message}` : ''}`,
    );
  }
  say('/accept <number> to accept');
}

/** Finds a user by exact username (search is eventually consistent: a new account takes seconds). */
async function findUser(username: string) {
  const hits = await need().http.searchUsers(username);
  const user = hits.find((u) => u.username === username.toLowerCase().replace(/^@/, ''));
  if (!user) throw new Error(`no user @${username} (yet)`);
  return user;
}

const help = `commands:
  /register [username]   create an account     /login [username]   sign in
  /list                  conversations and unread counts
  /open <n>              open conversation n; then type to send
  /add <username>        send a friend request /requests           incoming requests
  /accept <n>            accept request n      /friends            your friends
  /group <name> <user,user,...>   create a group with friends
  /help  /quit`;

async function command(input: string): Promise<void> {
  const [cmd, ...args] = input.trim().split(/\s+/);
  switch (cmd) {
    case '/help':
      return say(help);
    case '/quit':
      client?.close();
      rl.close();
      process.exit(0);
      return;
    case '/register':
    case '/login':
      return signIn(cmd === '/register', args[0]);
    case '/list':
      return list();
    case '/open':
      return open(args[0]);
    case '/requests':
      return showRequests();
    case '/accept': {
      const r = requests[Number(args[0]) - 1];
      if (!r) return say('usage: /accept <number from /requests>');
      const done = await need().http.acceptFriendRequest(r.requestId);
      names.set(done.friend.userId, done.friend.displayName);
      say(`you and ${done.friend.displayName} are friends now`);
      return list();
    }
    case '/add': {
      if (!args[0]) return say('usage: /add <username>');
      const user = await findUser(args[0]);
      const result = await need().http.sendFriendRequest(user.userId);
      return say(
        'status' in result && result.status === 'accepted'
          ? `friends with ${user.displayName}`
          : `asked ${user.displayName}`,
      );
    }
    case '/friends': {
      const friends = await need().http.friends();
      if (friends.length === 0) return say('no friends yet');
      for (const f of friends) say(`- ${f.user.displayName} (@${f.user.username})`);
      return;
    }
    case '/group': {
      const [name, members] = args;
      if (!name) return say('usage: /group <name> <username,username,...>');
      const friends = await need().http.friends();
      const ids = (members ?? '')
        .split(',')
        .filter(Boolean)
        .map((u) => {
          const f = friends.find((x) => x.user.username === u.replace(/^@/, '').toLowerCase());
          if (!f) throw new Error(`@${u} is not among your friends`);
          return f.user.userId;
        });
      await need().http.createGroup(name, ids);
      say(`created group ${name}`);
      return list();
    }
    default:
      return say(`unknown command ${cmd}; /help lists them`);
  }
}

async function onLine(input: string): Promise<void> {
  if (!input.trim()) return;
  if (input.startsWith('/')) return command(input);
  if (!client || !openId) return say('open a conversation first: /list, then /open <n>');
  // The outbox keeps order and retries across reconnects; the line prints once stored.
  await client.live.send(openId, input);
}

rl.setPrompt('> ');
say(`chat client for ${httpUrl} — /register or /login to start, /help for commands`);
rl.on('line', (input) => {
  onLine(input).catch((err: unknown) =>
    say(err instanceof ChatApiError ? `! ${err.code}: ${err.message}` : `! ${(err as Error).message}`),
  );
});
process.stdin.on('keypress', () => {
  if (!client || !openId || muted || Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  client.live.typing(openId);
});
rl.on('close', () => {
  client?.close();
  process.exit(0);
});
