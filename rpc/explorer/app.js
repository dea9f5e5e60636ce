// The explorer's shell: hash routes to pages, the search box and the live indicator. Each page
// is `render(main, params, ctx)`; `ctx.on(topic, fn)` subscribes to live events for as long as
// the page is shown and `ctx.alive()` tells a late answer that the page has gone.

import { data, maybe, startEvents, subscribe } from './api.js';
import { h, fill, errorBox, page, link } from './ui.js';
import * as overview from './overview.js';
import * as blocks from './blocks.js';
import * as accounts from './accounts.js';
import * as validators from './validators.js';
import * as subnets from './subnets.js';

const ROUTES = [
  [/^$/, overview.render, 'overview'],
  [/^blocks$/, blocks.list, 'blocks'],
  [/^block\/([^/]+)$/, blocks.block, 'blocks'],
  [/^tx\/(0x[0-9a-fA-F]+)$/, blocks.tx, 'blocks'],
  [/^account\/([^/]+)$/, accounts.account, null],
  [/^hotkey\/([^/]+)$/, accounts.hotkey, null],
  [/^validators$/, validators.render, 'validators'],
  [/^subnets$/, subnets.list, 'subnets'],
  [/^subnet\/(\d+)$/, subnets.subnet, 'subnets'],
  [/^search\/(.*)$/, search, null],
];

let current = null; // {cleanups}: what to undo when the page is left
let token = 0;

async function route() {
  const hash = location.hash;
  // Only `#/…` is a page; other fragments (the skip link's `#main`) are left to the browser.
  if (hash && !hash.startsWith('#/')) return;
  const [path, query] = decodeURIComponent(hash.slice(2)).split('?');
  const params = new URLSearchParams(query || '');
  if (current) current.cleanups.forEach((f) => f());
  const mine = ++token;
  current = { cleanups: [] };
  const ctx = {
    params,
    on: (topic, fn) => current.cleanups.push(subscribe(topic, fn)),
    alive: () => mine === token,
  };
  const main = document.getElementById('main');
  const match = ROUTES.map(([re, render, nav]) => [path.match(re), render, nav]).find(([m]) => m);
  for (const a of document.querySelectorAll('nav.primary a')) {
    if (match && a.dataset.nav === match[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.setAttribute('aria-busy', 'true');
  delete main.dataset.page;
  try {
    if (!match) {
      fill(main, page('Not found', h('p', {}, 'No such page. '), link('#/', 'Back to the overview')));
    } else {
      await match[1](main, match[0].slice(1), ctx);
    }
  } catch (e) {
    console.error(e);
    if (ctx.alive()) fill(main, page('Error', errorBox(e)));
  } finally {
    if (ctx.alive()) {
      main.removeAttribute('aria-busy');
      // Which page is drawn, for scripts (the browser test waits on it).
      main.dataset.page = path;
    }
  }
}

/** A new page from a link or the search box: start at its top, with focus on it for keyboards
 * and screen readers. */
function navigate() {
  window.scrollTo(0, 0);
  document.getElementById('main').focus({ preventScroll: true });
  route();
}

const HASH = /^0x[0-9a-fA-F]{64}$/;
const SS58 = /^[1-9A-HJ-NP-Za-km-z]{46,48}$/;

/** What the search box was given: a height or netuid, a block or tx hash, or an address. One
 * match opens its page; a number that is both a height and a netuid lists both. */
async function search(main, [q], ctx) {
  const text = q.trim();
  const found = []; // [href, label]
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    const [blk, sn] = await Promise.all([maybe(`/v1/blocks/${n}`), n <= 65535 ? maybe(`/v1/subnets/${n}`) : null]);
    if (blk) found.push([`#/block/${n}`, `Block ${n.toLocaleString('en-US')}`]);
    if (sn) found.push([`#/subnet/${n}`, `Subnet ${n}${sn.name ? ' · ' + sn.name : ''}`]);
  } else if (/^(sn|subnet|netuid)\s*\d+$/i.test(text)) {
    const n = Number(text.match(/\d+/)[0]);
    if (await maybe(`/v1/subnets/${n}`)) found.push([`#/subnet/${n}`, `Subnet ${n}`]);
  } else if (HASH.test(text)) {
    const [blk, tx] = await Promise.all([maybe(`/v1/blocks/${text}`), maybe(`/v1/txs/${text}`)]);
    if (blk) found.push([`#/block/${blk.header.height}`, `Block ${blk.header.height}`]);
    if (tx) found.push([`#/tx/${text}`, `Transaction ${text}`]);
    // Neither: 32 bytes of hex are also a public key.
    if (!found.length) found.push([`#/account/${text}`, `Account ${text}`]);
  } else if (SS58.test(text)) {
    found.push([`#/account/${text}`, `Account ${text}`]);
  }
  if (!ctx.alive()) return;
  if (found.length === 1) {
    // Replaces the search in history, so Back returns to where the search was made.
    location.replace(found[0][0]);
    return;
  }
  fill(main, page(`Search: ${text}`, found.length
    ? h('ul', { class: 'results' }, found.map(([href, label]) => h('li', {}, link(href, label))))
    : h('p', { class: 'empty' }, 'Nothing matches. Search for a block height, a block or transaction hash (0x…), an SS58 address, or a netuid (e.g. "sn1").')));
}

function setup() {
  const form = document.getElementById('search');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = document.getElementById('q').value.trim();
    if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
  });
  const live = document.getElementById('live');
  subscribe('status', (s) => {
    live.dataset.state = s;
    live.title = { live: 'live: following new blocks', polling: 'polling: the event stream is busy', connecting: 'connecting…', offline: 'offline: the node does not answer' }[s] || s;
    live.querySelector('.live-text').textContent = s;
  });
  subscribe('block', (b) => {
    document.getElementById('nav-height').textContent = `#${b.height.toLocaleString('en-US')}`;
  });
  data('/v1/chain').then((c) => {
    document.getElementById('chain-id').textContent = c.chain_id;
  }).catch(() => {});
  window.addEventListener('hashchange', navigate);
  startEvents();
  route();
}

setup();
