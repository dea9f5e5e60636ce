// Blocks: the paged list, one block (header, commit signatures, transactions, events) and one
// transaction (status, decoded call, fee, events).

import { blocksSince, coalesce, data } from './api.js';
import { h, fill, page, section, kv, tao, fmtInt, table, blockLink, txLink, accountLink, hotkeyLink, subnetLink, mono, time, link, empty } from './ui.js';

const PAGE = 25;

export async function list(main, _params, ctx) {
  const cursor = ctx.params.get('cursor');
  const q = `/v1/blocks?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const pg = await data(q);
  if (!ctx.alive()) return;
  const rows = pg.items;
  const box = h('div');
  const draw = () => fill(box, table({
    caption: cursor ? `Blocks from ${fmtInt(Number(cursor))} down` : 'The newest blocks (live)', id: 'blocks',
    columns: [
      { label: 'Height', value: (b) => b.height, render: (b) => blockLink(b.height), num: true },
      { label: 'Hash', value: (b) => b.hash, render: (b) => mono(b.hash) },
      { label: 'Proposer', value: (b) => b.proposer, render: (b) => hotkeyLink(b.proposer) },
      { label: 'Txs', value: (b) => b.tx_count, num: true },
      { label: 'Time', value: (b) => b.time_ms, render: (b) => time(b.time_ms) },
    ],
    rows,
  }));
  const top = rows.length ? rows[0].height : 0;
  const nav = h('nav', { class: 'pager', 'aria-label': 'Pages of blocks' },
    cursor ? link(`#/blocks?cursor=${top + PAGE}`, '← Newer') : null,
    cursor ? link('#/blocks', 'Newest') : null,
    pg.next_cursor !== null && pg.next_cursor !== undefined ? link(`#/blocks?cursor=${pg.next_cursor}`, 'Older →') : null);
  fill(main, page('Blocks', section(cursor ? 'Blocks' : 'Latest blocks', box, nav)));
  draw();
  if (cursor) return;
  // The first page follows the chain: new blocks go on top, none skipped.
  let last = top;
  ctx.on('block', coalesce(async (ev) => {
    if (ev.height <= last) return;
    const { headers } = await blocksSince(last, ev.height, PAGE);
    if (!ctx.alive()) return;
    rows.unshift(...headers.reverse());
    rows.splice(PAGE);
    last = ev.height;
    draw();
  }));
}

/** A transaction's call as key-value rows: amounts in TAO, accounts and subnets as links. */
function callRows(call) {
  return Object.entries(call).filter(([k]) => k !== 'call').map(([k, v]) => [k, fieldValue(k, v)]);
}

const AMOUNT = /amount|cost|burn|fee|stake$/;
const COLDKEY = /^(to|from|dest|coldkey|owner|signer|payer)$/;
const HOTKEY = /^(hotkey|proposer|new|old|from_hotkey|to_hotkey|new_hotkey|replaced|validator)$/;

/** One field of a call or event: amounts in TAO, accounts as links (whole when `full`). */
function fieldValue(k, v, full = true) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string' && AMOUNT.test(k) && /^\d+$/.test(v)) return tao(v);
  if (typeof v === 'string' && COLDKEY.test(k)) return accountLink(v, full);
  if (typeof v === 'string' && HOTKEY.test(k)) return hotkeyLink(v, full);
  if (k === 'netuid') return subnetLink(v);
  if (Array.isArray(v)) return h('span', { class: 'mono wrap' }, JSON.stringify(v));
  if (typeof v === 'object') return h('span', { class: 'mono wrap' }, JSON.stringify(v));
  return h('span', { class: typeof v === 'string' && v.startsWith('0x') ? 'mono wrap' : null }, String(v));
}

/** Events as a table: the kind and its fields. */
function eventsTable(events, caption) {
  return table({
    caption, emptyText: 'No events.',
    columns: [
      { label: 'Event', value: (e) => e.event, render: (e) => h('span', { class: 'tag' }, e.event) },
      { label: 'Details', value: () => '', render: (e) => h('span', { class: 'fields' }, Object.entries(e).filter(([k]) => k !== 'event').map(([k, v]) => h('span', { class: 'field' }, h('span', { class: 'muted' }, `${k} `), fieldValue(k, v, false)))) },
    ],
    rows: events,
  });
}

export async function block(main, [id], ctx) {
  const b = await data(`/v1/blocks/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const hd = b.header;
  const commit = b.commit;
  const nav = h('nav', { class: 'pager', 'aria-label': 'Neighbouring blocks' },
    hd.height > 0 ? link(`#/block/${hd.height - 1}`, `← ${fmtInt(hd.height - 1)}`) : null,
    link(`#/block/${hd.height + 1}`, `${fmtInt(hd.height + 1)} →`));
  fill(main, page(`Block ${fmtInt(hd.height)}`,
    nav,
    section('Header', kv([
      ['Height', h('span', { id: 'block-height' }, fmtInt(hd.height))],
      ['Hash', mono(hd.hash, true)],
      ['Time', h('span', {}, new Date(hd.time_ms).toISOString(), ' (', time(hd.time_ms), ')')],
      ['Proposer', hotkeyLink(hd.proposer, true)],
      ['Transactions', fmtInt(hd.tx_count)],
      ['Parent', hd.height > 0 ? h('a', { href: `#/block/${hd.height - 1}`, class: 'mono' }, hd.parent_hash) : mono(hd.parent_hash, true)],
      ['State root', mono(hd.state_root, true)],
      ['Tx root', mono(hd.tx_root, true)],
      ['Validator set', mono(hd.validator_set_hash, true)],
      ['Next validator set', mono(hd.next_validator_set_hash, true)],
      ['Last commit hash', mono(hd.last_commit_hash, true)],
      ['Chain', hd.chain_id],
    ])),
    section('Transactions', table({
      caption: `${b.txs.length} transaction(s)`, id: 'block-txs', emptyText: 'No transactions in this block.',
      columns: [
        { label: '#', value: (t) => t.i, num: true },
        { label: 'Hash', value: (t) => t.hash, render: (t) => txLink(t.hash) },
        { label: 'Call', value: (t) => t.call.call, render: (t) => h('span', { class: 'tag' }, t.call.call) },
        { label: 'Signer', value: (t) => t.signer, render: (t) => accountLink(t.signer) },
        { label: 'Fee', value: (t) => BigInt(t.fee), render: (t) => tao(t.fee), num: true },
        { label: 'Events', value: (t) => b.events[t.i].length, render: (t) => b.events[t.i].map((e) => e.event).join(', '), },
      ],
      rows: b.txs.map((t, i) => ({ ...t, i })),
    })),
    commit ? section('Commit', h('p', { class: 'muted' }, `Round ${commit.round}: precommits of ${commit.signatures.length} validator(s) finalized this block.`), table({
      caption: 'Commit signatures', id: 'commit-signatures',
      columns: [
        { label: 'Validator', value: (s) => s.validator, render: (s) => hotkeyLink(s.validator, true) },
        { label: 'Signature', value: (s) => s.signature, render: (s) => mono(s.signature) },
      ],
      rows: commit.signatures,
    })) : section('Commit', empty(hd.height === 0 ? 'Genesis needs no commit.' : 'This node holds no commit for this block.')),
    b.last_commit ? section('Parent commit carried', h('p', { class: 'muted' }, `Signatures of ${b.last_commit.signatures.length} validator(s) for block ${fmtInt(b.last_commit.height)}, round ${b.last_commit.round}.`)) : null,
    b.events.some((e) => e.length) ? section('Events', ...b.events.map((ev, i) => (ev.length ? eventsTable(ev, `Transaction ${i}`) : null))) : null,
  ));
}

export async function tx(main, [hash], ctx) {
  const t = await data(`/v1/txs/${hash}`);
  if (!ctx.alive()) return;
  const call = t.tx ? t.tx.call : null;
  const statusText = t.status === 'included' ? 'included' : t.status;
  fill(main, page('Transaction',
    section('Summary', kv([
      ['Hash', mono(t.hash, true)],
      ['Status', h('span', { class: `badge ${t.status}`, id: 'tx-status' }, statusText)],
      t.status === 'included' ? ['Block', h('span', {}, blockLink(t.height), ` (position ${t.index})`)] : undefined,
      t.time_ms ? ['Time', h('span', {}, new Date(t.time_ms).toISOString(), ' (', time(t.time_ms), ')')] : undefined,
      t.status === 'failed' ? ['Error', h('span', {}, h('code', {}, t.code), ' ', t.message)] : undefined,
      t.tx ? ['Signer', accountLink(t.tx.signer, true)] : undefined,
      t.tx ? ['Nonce', fmtInt(t.tx.nonce)] : undefined,
      t.tx ? ['Fee', tao(t.tx.fee)] : undefined,
    ])),
    call ? section(`Call: ${call.call}`, kv(callRows(call))) : section('Call', empty('Not included yet: this node knows the transaction only as pending.')),
    t.status === 'included' ? section('Events', eventsTable(t.events, 'What it did')) : null,
  ));
  if (t.status === 'pending') {
    // Shown until it is included: look again after each block.
    ctx.on('block', (ev) => {
      if (ev.tx_hashes.includes(t.hash) && ctx.alive()) tx(main, [hash], ctx);
    });
  }
}
