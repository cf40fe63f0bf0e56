// The abusers of bench/abuse.ts, each run in a worker thread: their request loops must not share an
// event loop with the bystander whose latency is measured (a flood's callbacks would delay the
// bystander's own and count as server latency).
import { parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { ChatSocket } from './chat-socket.js';
import { HttpClient } from './http.js';

/** What one abuser does, with what it needs. */
export type AbuserTask =
  | { kind: 'connectionStorm'; wsUrl: string; token: string; concurrency: number }
  | { kind: 'loginFlood'; httpUrl: string; username: string; concurrency: number; localAddress: string }
  | { kind: 'requestFlood'; httpUrl: string; token: string; concurrency: number }
  | { kind: 'sendFlood'; wsUrl: string; token: string; conversationId: string; concurrency: number }
  | {
      kind: 'loudMembers';
      httpUrl: string;
      tokens: string[];
      conversationId: string;
      text: string;
      /** Pause after each member's send, ms: the send limit's token interval keeps each at its limit. */
      gapMs: number;
    };

/** Counts of one abuser's run. */
export interface AbuserOutcome {
  /** Requests (or connects) made. */
  attempts: number;
  /** Refused with 429 (throttled, or the connection cap). */
  refused: number;
  /** Answered otherwise than accepted or refused (errors, 5xx). */
  other: number;
  /** From request to refusal, ms. */
  refusalMs: number[];
}

/** A running abuser: `stop()` ends its loops and resolves with what it counted. */
export interface RunningAbuser {
  stop(): Promise<AbuserOutcome>;
}

/** Starts an abuser in a worker thread. */
export function startAbuser(task: AbuserTask): RunningAbuser {
  // A worker does not inherit tsx's loader: a small bootstrap registers it, then loads this file.
  const boot =
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); ` +
    `await import(${JSON.stringify(import.meta.url)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), {
    workerData: task,
  });
  const done = new Promise<AbuserOutcome>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const out = await done;
      await worker.terminate();
      return out;
    },
  };
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function run(task: AbuserTask, stop: { done: boolean }): Promise<AbuserOutcome> {
  const out: AbuserOutcome = { attempts: 0, refused: 0, other: 0, refusalMs: [] };
  const refusedAfter = (t0: number) => {
    out.refused++;
    out.refusalMs.push(performance.now() - t0);
  };
  const workers = (n: number, loop: () => Promise<void>) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        while (!stop.done) await loop();
      }),
    );
  switch (task.kind) {
    case 'connectionStorm': {
      // Each socket is dropped as soon as it opens (no close handshake), as in the storm that found the bug.
      const url = `${task.wsUrl}?token=${encodeURIComponent(task.token)}`;
      await workers(task.concurrency, async () => {
        const t0 = performance.now();
        out.attempts++;
        const status = await new Promise<number>((resolve) => {
          const socket = new WebSocket(url);
          socket.once('open', () => {
            socket.terminate();
            resolve(101);
          });
          socket.once('unexpected-response', (_req, res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          socket.once('error', () => resolve(0));
        });
        if (status === 429) refusedAfter(t0);
        else if (status !== 101) out.other++;
      });
      break;
    }
    case 'requestFlood': {
      // One user's cheap authorized reads, `concurrency` in flight, each sent again as soon as answered.
      const http = new HttpClient(task.httpUrl, task.concurrency);
      await workers(task.concurrency, async () => {
        const t0 = performance.now();
        out.attempts++;
        const res = await http.call('/me', { method: 'GET', token: task.token });
        if (res.status === 429) refusedAfter(t0);
        else if (res.status !== 200) out.other++;
      });
      http.close();
      break;
    }
    case 'loginFlood': {
      // Wrong passwords, the victim's name and made-up ones in turn, all from one source address.
      const http = new HttpClient(task.httpUrl, task.concurrency, task.localAddress);
      let k = 0;
      await workers(task.concurrency, async () => {
        const n = k++;
        const username = n % 2 ? task.username : `nobody${n}`;
        const t0 = performance.now();
        out.attempts++;
        const res = await http.call('/auth/login', { body: { username, password: `wrong-${n}` } });
        if (res.status === 429) refusedAfter(t0);
        else if (res.status !== 401) out.other++;
      });
      http.close();
      break;
    }
    case 'sendFlood': {
      const socket = await ChatSocket.connect(task.wsUrl, task.token);
      let k = 0;
      await workers(task.concurrency, async () => {
        const t0 = performance.now();
        out.attempts++;
        // A frame left unanswered counts as "other" instead of ending the run: the count is the finding.
        const answer = await socket
          .request(
            {
              action: 'sendMessage',
              conversationId: task.conversationId,
              clientMessageId: `f${k++}`,
              text: 'flood',
            },
            30_000,
          )
          .catch((): Record<string, unknown> => ({ type: 'unanswered' }));
        if (answer.code === 'throttled') refusedAfter(t0);
        else if (answer.type !== 'ack') out.other++;
      });
      await socket.close();
      break;
    }
    case 'loudMembers': {
      // Members who keep a group busy with long messages, each about at its send limit.
      const http = new HttpClient(task.httpUrl);
      await Promise.all(
        task.tokens.map(async (token, i) => {
          for (let k = 0; !stop.done; k++) {
            const t0 = performance.now();
            out.attempts++;
            const res = await http.call(`/conversations/${task.conversationId}/messages`, {
              token,
              body: { clientMessageId: `l${i}-${k}-${Date.now()}`, text: task.text },
            });
            if (res.status === 429) refusedAfter(t0);
            else if (res.status !== 201) out.other++;
            await sleep(task.gapMs);
          }
        }),
      );
      http.close();
      break;
    }
  }
  return out;
}

if (parentPort && workerData) {
  const port = parentPort;
  const stop = { done: false };
  port.once('message', () => {
    stop.done = true;
  });
  void run(workerData as AbuserTask, stop).then((out) => port.postMessage(out));
}
