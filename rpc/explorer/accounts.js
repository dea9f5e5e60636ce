// Accounts and hotkeys: an account's balances, stake per hotkey, unbonding and recent
// transactions; a hotkey's owner, take, nominators and the subnets it is registered on.

import { coalesce, data, maybe } from './api.js';
import { h, fill, page, section, stat, kv, tao, fmtInt, table, blockLink, txLink, accountLink, hotkeyLink, subnetLink, mono, time, link, pct, score, empty } from './ui.js';

// Recent transactions shown on an account's page (one index read, one block read per block).
const RECENT = 20;

/** The account on the other side of a transaction: its signer when `self` did not sign it, else
 * the recipient or hotkey its call names (if any). */
function counterparty(t, self) {
  const c = t.tx.call;
  if (t.tx.signer !== self) return t.tx.signer;
  return c.to || c.dest || c.hotkey || c.new_hotkey || null;
}

function txTable(addr, rows) {
  return table({
    caption: 'Recent transactions (newest first)', id: 'account-txs', emptyText: 'No transactions touched this account yet.',
    columns: [
      { label: 'Block', value: (t) => t.height, render: (t) => blockLink(t.height), num: true },
      { label: 'Hash', value: (t) => t.tx.hash, render: (t) => txLink(t.tx.hash) },
      { label: 'Call', value: (t) => t.tx.call.call, render: (t) => h('span', { class: 'tag' }, t.tx.call.call) },
      { label: 'Direction', value: (t) => (t.tx.signer === addr ? 'out' : 'in'), render: (t) => h('span', { class: `dir ${t.tx.signer === addr ? 'out' : 'in'}` }, t.tx.signer === addr ? 'signed' : 'received') },
      { label: 'Counterparty', value: (t) => counterparty(t, addr) || '', render: (t) => (counterparty(t, addr) ? accountLink(counterparty(t, addr)) : '–') },
      { label: 'Amount', value: (t) => BigInt(t.tx.call.amount || 0), render: (t) => (t.tx.call.amount ? tao(t.tx.call.amount) : '–'), num: true },
      { label: 'Fee', value: (t) => BigInt(t.tx.fee), render: (t) => tao(t.tx.fee), num: true },
      { label: 'Age', value: (t) => t.time_ms, render: (t) => time(t.time_ms) },
    ],
    rows,
  });
}

export async function account(main, [addr], ctx) {
  const load = () => Promise.all([
    data(`/v1/accounts/${encodeURIComponent(addr)}`),
    data(`/v1/accounts/${encodeURIComponent(addr)}/stakes`),
    data(`/v1/accounts/${encodeURIComponent(addr)}/txs?limit=${RECENT}`),
  ]);
  const [[a, st, txs], hk] = await Promise.all([load(), maybe(`/v1/hotkeys/${encodeURIComponent(addr)}`)]);
  if (!ctx.alive()) return;
  const balances = h('div', { class: 'stats' });
  const stakesBox = h('div');
  const unbondBox = h('div');
  const txBox = h('div');
  let head = 0;

  const draw = (acct, stakes, list) => {
    fill(balances,
      stat('Free', tao(acct.free), { id: 'account-free' }),
      stat('Staked', tao(acct.staked), { id: 'account-staked' }),
      stat('Unbonding', tao(acct.unbonding), { id: 'account-unbonding' }),
      stat('Total', tao(acct.total), { id: 'account-total', sub: `nonce ${fmtInt(acct.nonce)}` }));
    const total = BigInt(stakes.total);
    fill(stakesBox, stakes.stakes.length ? table({
      caption: 'Stake behind each hotkey', id: 'account-stakes',
      columns: [
        { label: 'Hotkey', value: (s) => s.hotkey, render: (s) => hotkeyLink(s.hotkey, false, 10) },
        { label: 'Stake', value: (s) => BigInt(s.amount), render: (s) => tao(s.amount), num: true },
        { label: 'Share', value: (s) => BigInt(s.amount), render: (s) => pct(total > 0n ? Number((BigInt(s.amount) * 10000n) / total) / 10000 : 0, 1), num: true },
      ],
      rows: stakes.stakes, sortable: true,
    }) : empty('No stake.'));
    fill(unbondBox, acct.unbonding_entries.length ? table({
      caption: 'Stake leaving validators: slashable until released', id: 'account-unbonding-entries',
      columns: [
        { label: 'Hotkey', value: (u) => u.hotkey, render: (u) => hotkeyLink(u.hotkey) },
        { label: 'Amount', value: (u) => BigInt(u.amount), render: (u) => tao(u.amount), num: true },
        { label: 'Released at', value: (u) => u.release_at, render: (u) => fmtInt(u.release_at), num: true },
        { label: 'Blocks left', value: (u) => u.release_at - head, render: (u) => fmtInt(Math.max(0, u.release_at - head)), num: true },
      ],
      rows: acct.unbonding_entries,
    }) : empty('Nothing unbonding.'));
    fill(txBox, txTable(a.address, list.items));
  };

  fill(main, page('Account',
    h('p', { class: 'addr' }, mono(a.address, true), h('span', { class: 'muted' }, ` · ${a.exists ? 'exists' : 'never funded'}`)),
    hk ? h('p', { class: 'notice' }, 'This address is also a hotkey: ', link(`#/hotkey/${a.address}`, 'see its stake, take and subnets'), '.') : null,
    balances,
    h('div', { class: 'two' }, section('Stakes', stakesBox), section('Unbonding', unbondBox)),
    section('Transactions', txBox),
    section('Keys', kv([['SS58', mono(a.address, true)], ['Public key', mono(a.hex, true)], ['Next nonce', fmtInt(a.next_nonce)]])),
  ));
  draw(a, st, txs);

  // Balances change with the blocks (emissions, releases); the list only with transactions, so
  // it is read again only after a block that had some.
  let last = txs;
  let txsSince = false;
  const refresh = coalesce(async (ev) => {
    const readTxs = txsSince;
    txsSince = false;
    const [acct, stakes, list] = await Promise.all([
      data(`/v1/accounts/${encodeURIComponent(addr)}`),
      data(`/v1/accounts/${encodeURIComponent(addr)}/stakes`),
      readTxs ? data(`/v1/accounts/${encodeURIComponent(addr)}/txs?limit=${RECENT}`) : last,
    ]);
    last = list;
    head = ev.height;
    if (ctx.alive()) draw(acct, stakes, list);
  });
  ctx.on('block', (ev) => {
    txsSince ||= ev.tx_hashes.length > 0;
    refresh(ev);
  });
}

export async function hotkey(main, [hk], ctx) {
  const info = await data(`/v1/hotkeys/${encodeURIComponent(hk)}`);
  if (!ctx.alive()) return;
  const regBox = h('div');
  const drawRegs = async () => {
    const neurons = await Promise.all(info.registrations.map(([netuid, uid]) => maybe(`/v1/subnets/${netuid}/neurons/${uid}`).then((n) => ({ netuid, uid, n }))));
    if (!ctx.alive()) return;
    fill(regBox, table({
      caption: 'Subnets this hotkey is registered on', id: 'hotkey-subnets', emptyText: 'Not registered on any subnet.',
      columns: [
        { label: 'Subnet', value: (r) => r.netuid, render: (r) => subnetLink(r.netuid), num: true },
        { label: 'UID', value: (r) => r.uid, num: true },
        { label: 'Emission', title: 'paid at the last epoch', value: (r) => BigInt(r.n ? r.n.emission : 0), render: (r) => (r.n ? tao(r.n.emission) : '–'), num: true },
        { label: 'Incentive', value: (r) => (r.n ? r.n.incentive : 0), render: (r) => score(r.n && r.n.incentive), num: true },
        { label: 'Dividends', value: (r) => (r.n ? r.n.dividends : 0), render: (r) => score(r.n && r.n.dividends), num: true },
        { label: 'VTrust', title: 'validator trust', value: (r) => (r.n ? r.n.validator_trust : 0), render: (r) => score(r.n && r.n.validator_trust), num: true },
        { label: 'Permit', title: 'validator permit', value: (r) => (r.n && r.n.validator_permit ? 1 : 0), render: (r) => (r.n && r.n.validator_permit ? 'yes' : 'no') },
      ],
      rows: neurons, sortable: true,
    }));
  };
  const total = BigInt(info.total_stake);
  const txs = await data(`/v1/accounts/${encodeURIComponent(hk)}/txs?limit=10`);
  if (!ctx.alive()) return;
  fill(main, page('Hotkey',
    h('p', { class: 'addr' }, mono(info.hotkey, true)),
    h('div', { class: 'stats' },
      stat('Total stake', tao(info.total_stake), { id: 'hotkey-stake' }),
      stat('Take', pct(info.take_fraction, 2), { id: 'hotkey-take', sub: info.pending_take ? `rises to ${pct(info.pending_take.take / 65535)} at block ${fmtInt(info.pending_take.effective_at)}` : 'share of dividends the owner keeps' }),
      stat('Nominators', fmtInt(info.nominators.length) + (info.nominators_next_cursor ? '+' : ''), { id: 'hotkey-nominators' }),
      stat('Subnets', fmtInt(info.registrations.length), { id: 'hotkey-registrations' })),
    section('Owner', kv([['Owner (coldkey)', accountLink(info.owner, true)], ['Hotkey as an account', accountLink(info.hotkey, true)]])),
    section('Subnets', regBox),
    section('Nominators', table({
      caption: info.nominators_next_cursor ? 'The first page of nominators' : 'Who stakes behind this hotkey', id: 'hotkey-nominator-list', sortable: true,
      columns: [
        { label: 'Coldkey', value: (n) => n.coldkey, render: (n) => accountLink(n.coldkey, true) },
        { label: 'Stake', value: (n) => BigInt(n.amount), render: (n) => tao(n.amount), num: true },
        { label: 'Share', value: (n) => BigInt(n.amount), render: (n) => pct(total > 0n ? Number((BigInt(n.amount) * 10000n) / total) / 10000 : 0, 1), num: true },
      ],
      rows: info.nominators,
    })),
    section('Transactions', txTable(info.hotkey, txs.items)),
  ));
  await drawRegs();
  // Emission, incentive and dividends change at its subnets' epochs.
  const netuids = new Set(info.registrations.map(([n]) => n));
  const redraw = coalesce(drawRegs);
  ctx.on('epoch', (e) => {
    if (netuids.has(e.netuid)) redraw();
  });
}
