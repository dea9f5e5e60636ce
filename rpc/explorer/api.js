// This node's public API, as the explorer uses it: `/v1` reads with the `{data, meta}` envelope
// unwrapped and errors in the API's shape, and one shared `/v1/events` stream for live pages.

/** An error answer of the API: its stable code, message and hint. */
export class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

// A 429 is retried after its Retry-After this many times before the page shows the error: the
// explorer keeps well inside a client's budget (docs/api-limits.md), so a refusal is a burst.
const RATE_LIMIT_RETRIES = 3;
// Longest wait honoured from one Retry-After: a page should not hang on a long one.
const MAX_RETRY_WAIT_S = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET `path` (e.g. `/v1/blocks/head`): the whole envelope `{data, meta}`. */
export async function get(path) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    if (res.status === 429 && attempt < RATE_LIMIT_RETRIES) {
      const wait = Math.min(Number(res.headers.get('retry-after')) || 1, MAX_RETRY_WAIT_S);
      await sleep(wait * 1000);
      continue;
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      // Not JSON: reported below by status.
    }
    if (!res.ok) {
      const e = (body && body.error) || {};
      throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText, e.hint || '');
    }
    return body;
  }
}

/** GET `path`: the envelope's data. */
export async function data(path) {
  return (await get(path)).data;
}

/** GET `path`, or null when the API answers 404 (an unknown hotkey, block or tx). */
export async function maybe(path) {
  try {
    return await data(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The headers of blocks `last`+1 ..= `height` (the newest `max` of them), oldest first, and the
 * whole block when it is just the next one: one light read a block; a gap (blocks that came while
 * a page loaded or a read ran) costs one page of headers. */
export async function blocksSince(last, height, max) {
  if (height === last + 1) {
    const b = await data(`/v1/blocks/${height}`);
    return { headers: [b.header], blocks: new Map([[height, b]]) };
  }
  const page = await data(`/v1/blocks?cursor=${height}&limit=${Math.min(height - last, max)}`);
  return { headers: page.items.filter((hd) => hd.height > last).reverse(), blocks: new Map() };
}

/** A live-event handler that runs `fn(event)` once at a time: events that come while it runs are
 * dropped but the newest, which runs next. So reads never pile up behind a fast chain, and `fn`
 * catches up from what it saw last by itself. */
export function coalesce(fn) {
  let running = false;
  let next = null;
  const run = async (ev) => {
    running = true;
    try {
      await fn(ev);
    } catch (e) {
      console.warn('live update failed', e);
    } finally {
      running = false;
      if (next) {
        const n = next;
        next = null;
        run(n);
      }
    }
  };
  return (ev) => {
    if (running) next = ev;
    else run(ev);
  };
}

// ---- live events ----------------------------------------------------------------------------

// Topics the explorer listens to: one stream carries them all (a client may hold few streams).
const TOPICS = ['block', 'epoch'];
// While the stream is refused (503 too_many_streams) or down, the head is polled this often (one
// cheap request), and the stream is tried again after STREAM_RETRY_MS.
const POLL_MS = 2000;
const STREAM_RETRY_MS = 30000;

const listeners = { block: new Set(), epoch: new Set(), status: new Set() };
let state = 'connecting';
let source = null;
let poller = null;
let lastHeight = null;

/** Calls `fn(event)` for each live event of `topic` (`block`, `epoch` or `status`); returns the
 * function that stops it. */
export function subscribe(topic, fn) {
  listeners[topic].add(fn);
  if (topic === 'status') fn(state);
  return () => listeners[topic].delete(fn);
}

function emit(topic, value) {
  for (const fn of [...listeners[topic]]) {
    try {
      fn(value);
    } catch (e) {
      console.error(e);
    }
  }
}

function setState(s) {
  if (s !== state) {
    state = s;
    emit('status', s);
  }
}

function onBlock(block) {
  if (lastHeight !== null && block.height <= lastHeight) return;
  lastHeight = block.height;
  emit('block', block);
}

/** Opens the shared event stream (once); falls back to polling the head while it is refused. */
export function startEvents() {
  if (source) return;
  source = new EventSource(`/v1/events?topics=${TOPICS.join(',')}`);
  source.addEventListener('open', () => {
    stopPolling();
    setState('live');
  });
  source.addEventListener('block', (e) => onBlock(JSON.parse(e.data)));
  source.addEventListener('epoch', (e) => emit('epoch', JSON.parse(e.data)));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (503) or failed for good: poll, and try the stream again later.
      source = null;
      startPolling();
      setTimeout(startEvents, STREAM_RETRY_MS);
    } else {
      setState('connecting');
    }
  });
}

function startPolling() {
  setState('polling');
  if (poller) return;
  poller = setInterval(async () => {
    try {
      const head = await data('/v1/blocks/head');
      const h = head.header;
      if (lastHeight === null || h.height > lastHeight) {
        onBlock({ height: h.height, hash: h.hash, time_ms: h.time_ms, tx_hashes: head.txs.map((t) => t.hash) });
      }
    } catch {
      setState('offline');
    }
  }, POLL_MS);
}

function stopPolling() {
  if (poller) clearInterval(poller);
  poller = null;
}
