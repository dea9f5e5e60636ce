// The overview: head and finalized height, block time, validators online, issuance against the
// 21M cap and the next halving, recycled and staked, TPS, and the latest blocks and transactions,
// all kept current by the event stream.

import { blocksSince, coalesce, data } from './api.js';
import { h, fill, page, section, stat, tao, taoText, fmtInt, table, blockLink, txLink, accountLink, hotkeyLink, mono, time, pct } from './ui.js';
import { bars, widthOf, CLIP_AT_TARGETS as CLIP } from './charts.js';

// Blocks the interval chart and TPS look back over: a minute of one-second blocks.
const WINDOW = 60;
// Shown in the latest blocks and transactions tables.
const LATEST = 10;
// A validator that signed one of the last this many blocks counts as online.
const ONLINE_WITHIN = 10;
// The validator set costs a heavy request: refreshed every this many blocks, not every block.
const VALIDATORS_EVERY = 10;

export async function render(main, _params, ctx) {
  const [sync, chain, supply, recent, vals] = await Promise.all([
    data('/v1/node/syncing'), data('/v1/chain'), data('/v1/supply'),
    data(`/v1/blocks?limit=${WINDOW + 1}`), data('/v1/validators?limit=1'),
  ]);
  if (!ctx.alive()) return;
  // Oldest first: {height, hash, time_ms, tx_count, proposer}.
  const recentBlocks = recent.items.slice().reverse();
  const blocks = recent.items.slice(0, LATEST);
  const txs = [];
  let head = sync.head;

  const headEl = h('span', {}, fmtInt(head));
  const finalizedEl = h('span', { id: 'finalized-height' }, fmtInt(sync.finalized));
  const intervalEl = h('span');
  const intervalSub = h('span');
  const onlineEl = h('span');
  const tpsEl = h('span');
  const tpsSub = h('span');
  const chartBox = h('div', { class: 'chart-box' });
  const supplyBox = h('div');
  const blocksBox = h('div');
  const txsBox = h('div');

  fill(main, page('Overview',
    h('div', { class: 'stats' },
      stat('Head height', headEl, { id: 'head-height', sub: h('span', {}, 'finalized ', finalizedEl) }),
      stat('Block time', intervalEl, { id: 'block-time', sub: intervalSub }),
      stat('Validators online', onlineEl, { id: 'validators-online', sub: `signed in the last ${ONLINE_WITHIN} blocks` }),
      stat('Throughput', tpsEl, { id: 'tps', sub: tpsSub }),
    ),
    supplyBox,
    section('Block intervals', h('p', { class: 'muted' }, `The last ${WINDOW} blocks, in milliseconds; the dashed line is the target (stalls beyond ${CLIP} times it are cut, in orange).`), chartBox),
    h('div', { class: 'two' },
      section('Latest blocks', blocksBox),
      section('Latest transactions', txsBox)),
  ));

  const drawSupply = (s) => {
    const max = BigInt(s.max_supply);
    const issued = BigInt(s.total_issuance);
    const next = s.next_halving_at ? BigInt(s.next_halving_at) : null;
    const eraStart = max - (max >> BigInt(s.halvings ?? 0));
    const frac = (a, b) => (b > 0n ? Number((a * 1_000_000n) / b) / 1_000_000 : 0);
    const toHalving = next ? frac(issued - eraStart, next - eraStart) : 1;
    fill(supplyBox, section('Supply',
      h('div', { class: 'stats' },
        stat('Issued', tao(s.total_issuance, 2), { id: 'issuance', sub: `${pct(frac(issued, max))} of the ${taoText(s.max_supply, 0)} τ cap` }),
        stat('Staked', tao(s.staked, 2), { id: 'staked', sub: `${pct(frac(BigInt(s.staked), issued || 1n))} of issued` }),
        stat('Recycled', tao(s.recycled, 2), { id: 'recycled', sub: 'burns, epoch dust, slashes' }),
        stat('Block reward', tao(s.block_reward), { id: 'block-reward', sub: `halvings so far: ${s.halvings ?? '–'}` }),
      ),
      h('div', { class: 'meter', role: 'meter', 'aria-label': 'issuance of the 21M cap', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': (frac(issued, max) * 100).toFixed(2) },
        h('div', { class: 'meter-fill', 'data-width': frac(issued, max) }),
        next ? h('div', { class: 'meter-mark', 'data-left': frac(next, max), title: `next halving at ${taoText(s.next_halving_at, 0)} τ` }) : null),
      h('p', { class: 'meter-caption' }, next
        ? [`Next halving at `, tao(s.next_halving_at, 0), ` issued: ${pct(toHalving, 1)} of the way there (`, tao((next - issued).toString(), 0), ' to go).']
        : 'No further halving: the cap is reached.'),
    ));
    // Widths go through the CSSOM: the page's policy allows no inline style attributes.
    for (const el of supplyBox.querySelectorAll('[data-width]')) el.style.width = `${Number(el.dataset.width) * 100}%`;
    for (const el of supplyBox.querySelectorAll('[data-left]')) el.style.left = `${Number(el.dataset.left) * 100}%`;
  };

  const drawChart = () => {
    const iv = [];
    for (let i = 1; i < recentBlocks.length; i++) iv.push([recentBlocks[i].height, recentBlocks[i].time_ms - recentBlocks[i - 1].time_ms]);
    const avg = iv.length ? iv.reduce((a, [, v]) => a + v, 0) / iv.length : 0;
    // The median: one stall does not move it; the mean beside it shows there was one.
    const sorted = iv.map(([, v]) => v).sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
    intervalEl.textContent = iv.length ? `${(median / 1000).toFixed(2)} s` : '–';
    intervalSub.textContent = `median; mean ${(avg / 1000).toFixed(2)} s, target ${fmtInt(chain.block_time_ms)} ms`;
    fill(chartBox, bars(iv.map(([, v]) => v), {
      label: `Intervals of the last ${iv.length} blocks, average ${Math.round(avg)} ms against a ${chain.block_time_ms} ms target`,
      unit: '', target: chain.block_time_ms, titles: iv.map(([hgt, v]) => `block ${hgt}: ${v} ms`), width: widthOf(chartBox),
    }));
    const span = recentBlocks.length > 1 ? (recentBlocks[recentBlocks.length - 1].time_ms - recentBlocks[0].time_ms) / 1000 : 0;
    const count = recentBlocks.slice(1).reduce((a, b) => a + b.tx_count, 0);
    tpsEl.textContent = span > 0 ? `${(count / span).toFixed(2)} tx/s` : '–';
    tpsSub.textContent = `${fmtInt(count)} txs in the last ${recentBlocks.length - 1} blocks`;
  };

  const drawOnline = (v) => {
    const online = v.validators.filter((x) => x.last_signed_height !== null && x.last_signed_height + ONLINE_WITHIN > head).length;
    onlineEl.textContent = `${online} / ${v.validators.length}`;
  };

  const drawBlocks = () => fill(blocksBox, table({
    caption: 'The newest blocks', id: 'latest-blocks',
    columns: [
      { label: 'Height', value: (b) => b.height, render: (b) => blockLink(b.height), num: true },
      { label: 'Hash', value: (b) => b.hash, render: (b) => mono(b.hash, false, 6) },
      { label: 'Proposer', value: (b) => b.proposer, render: (b) => hotkeyLink(b.proposer, false, 6) },
      { label: 'Txs', value: (b) => b.tx_count, num: true },
      { label: 'Age', value: (b) => b.time_ms, render: (b) => time(b.time_ms) },
    ],
    rows: blocks,
  }));

  const drawTxs = () => fill(txsBox, table({
    caption: 'The newest transactions', id: 'latest-txs', emptyText: 'No transactions in the recent blocks.',
    columns: [
      { label: 'Hash', value: (t) => t.hash, render: (t) => txLink(t.hash, false, 6) },
      { label: 'Block', value: (t) => t.height, render: (t) => blockLink(t.height), num: true },
      { label: 'Call', value: (t) => t.call.call, render: (t) => h('span', { class: 'tag' }, t.call.call) },
      { label: 'Signer', value: (t) => t.signer, render: (t) => accountLink(t.signer, false, 6) },
      { label: 'Amount', value: (t) => t.call.amount || '', render: (t) => (t.call.amount ? tao(t.call.amount) : '') },
    ],
    rows: txs,
  }));

  const addTxs = (block) => {
    const list = block.txs.map((t) => ({ ...t, height: block.header.height })).reverse();
    txs.unshift(...list);
    txs.splice(LATEST);
  };

  drawSupply(supply);
  drawChart();
  drawOnline(vals);
  drawBlocks();
  // The transactions of the newest blocks that have any (a block read each, at most LATEST).
  const withTxs = recentBlocks.filter((b) => b.tx_count > 0).slice(-LATEST);
  for (const b of withTxs) {
    if (!ctx.alive()) return;
    addTxs(await data(`/v1/blocks/${b.height}`));
  }
  drawTxs();

  // Live: each new block's header, and its transactions when it has any. Blocks that came while
  // the page loaded or a read ran are read as a page of headers, so nothing is skipped.
  let last = recentBlocks[recentBlocks.length - 1].height;
  let validatorsAt = last;
  ctx.on('block', coalesce(async (ev) => {
    if (ev.height <= last) return;
    const { headers, blocks: full } = await blocksSince(last, ev.height, WINDOW + 1);
    for (const hd of headers.filter((x) => x.tx_count > 0 && !full.has(x.height)).slice(-LATEST)) {
      full.set(hd.height, await data(`/v1/blocks/${hd.height}`));
    }
    const s = await data('/v1/supply');
    if (!ctx.alive()) return;
    for (const hd of headers) {
      recentBlocks.push(hd);
      blocks.unshift(hd);
      if (full.has(hd.height)) addTxs(full.get(hd.height));
    }
    recentBlocks.splice(0, Math.max(0, recentBlocks.length - (WINDOW + 1)));
    blocks.splice(LATEST);
    last = ev.height;
    head = Math.max(head, last);
    headEl.textContent = fmtInt(head);
    finalizedEl.textContent = fmtInt(head);
    drawChart();
    drawBlocks();
    drawTxs();
    drawSupply(s);
    if (last >= validatorsAt + VALIDATORS_EVERY) {
      validatorsAt = last;
      drawOnline(await data('/v1/validators?limit=1'));
    }
  }));
}
