// Subnets: the table of all of them with a bar chart of emission shares, and one subnet: its
// metagraph (the btcli columns, sortable), the emission split of recent epochs, incentive
// against dividends, hyperparameters and registration cost.

import { coalesce, data, get } from './api.js';
import { h, fill, page, section, stat, kv, tao, taoText, fmtInt, table, accountLink, hotkeyLink, subnetLink, pct, score, empty } from './ui.js';
import { hbars, stacked, legend, scatter, widthOf } from './charts.js';

// Epochs drawn in the emission split chart.
const EPOCHS = 30;

/** Blocks until the subnet's next epoch: epochs run at the blocks where (height + netuid + 1)
 * is a multiple of tempo + 1 (ledger/src/subnet/emission.rs). */
function nextEpochIn(netuid, tempo, head) {
  if (!tempo) return null;
  const period = tempo + 1;
  return period - ((head + netuid + 1) % period);
}

const blocks = (n) => (n === null ? '–' : `${fmtInt(n)} block${n === 1 ? '' : 's'}`);

const owner = (s, full = false) => (s.genesis ? h('span', { class: 'muted' }, 'genesis (no owner)') : accountLink(s.owner, full));

export async function list(main, _params, ctx) {
  const env = await get('/v1/subnets');
  if (!ctx.alive()) return;
  let subnets = env.data.items;
  let head = env.meta.height;
  let sort = null;
  const chartBox = h('div', { class: 'chart-box' });
  const tableBox = h('div');
  const drawTable = () => fill(tableBox, table({
    caption: 'Every subnet (next epoch counts down live)', id: 'subnets', sortable: true, sort, onSort: (s) => { sort = s; },
    columns: [
      { label: 'Netuid', value: (s) => s.netuid, render: (s) => subnetLink(s.netuid), num: true },
      { label: 'Name', value: (s) => s.name, render: (s) => s.name || h('span', { class: 'muted' }, '—') },
      { label: 'Owner', value: (s) => s.owner, render: owner },
      { label: 'Tempo', value: (s) => s.tempo, num: true },
      { label: 'n / max', value: (s) => s.n, render: (s) => `${fmtInt(s.n)} / ${fmtInt(s.max_n)}`, num: true },
      { label: 'Emission', title: 'share of each block reward', value: (s) => s.emission_share, render: (s) => (s.emission_enabled ? pct(s.emission_share) : h('span', { class: 'muted', title: 'no validator permit holder has stake yet' }, 'off')), num: true },
      { label: 'Burn', title: 'price of registering a neuron now', value: (s) => BigInt(s.burn), render: (s) => tao(s.burn), num: true },
      { label: 'Next epoch', title: 'in blocks', value: (s) => nextEpochIn(s.netuid, s.tempo, head) ?? Infinity, render: (s) => fmtInt(nextEpochIn(s.netuid, s.tempo, head)), num: true },
      { label: 'Registration', value: (s) => s.registration },
    ],
    rows: subnets,
  }));
  const drawChart = () => fill(chartBox, subnets.length ? hbars(subnets.map((s) => ({
    label: `${s.netuid}${s.name ? ' · ' + s.name : ''}`, value: s.emission_share, text: pct(s.emission_share), href: `#/subnet/${s.netuid}`,
  })), { label: `Emission shares: ${subnets.map((s) => `subnet ${s.netuid} ${pct(s.emission_share)}`).join(', ')}`, width: widthOf(chartBox) }) : empty('No subnets.'));
  fill(main, page('Subnets',
    section('All subnets', tableBox),
    section('Emission shares', h('p', { class: 'muted' }, 'Each subnet\'s share of every block reward, as root consensus sets it.'), chartBox)));
  drawTable();
  drawChart();
  ctx.on('block', (ev) => {
    head = ev.height;
    drawTable();
  });
  ctx.on('epoch', coalesce(async () => {
    const e = await get('/v1/subnets');
    if (!ctx.alive()) return;
    subnets = e.data.items;
    drawTable();
    drawChart();
  }));
}

// The metagraph as btcli prints it: column, header, what it holds.
const METAGRAPH = [
  ['uid', 'UID', 'uid'],
  ['stake', 'Stake', 'total stake behind the hotkey'],
  ['rank', 'Rank', 'rank'],
  ['trust', 'Trust', 'trust'],
  ['consensus', 'Consensus', 'consensus'],
  ['incentive', 'Incentive', 'share of miner emission'],
  ['dividends', 'Dividends', 'share of validator emission'],
  ['emission', 'Emission', 'paid at the last epoch'],
  ['validator_trust', 'VTrust', 'validator trust'],
  ['validator_permit', 'Val', 'holds a validator permit'],
  ['last_update', 'Updated', 'blocks since its last weights'],
  ['active', 'Active', 'active'],
  ['axon', 'Axon', 'where it serves'],
  ['hotkey', 'Hotkey', 'hotkey'],
  ['coldkey', 'Coldkey', 'coldkey'],
];

function metagraphRows(m) {
  return m.uid.map((_, i) => Object.fromEntries(METAGRAPH.map(([k]) => [k, m[k][i]])));
}

const ROLES = { miner: 'miner (earns incentive)', validator: 'validator (earns dividends)', idle: 'neither yet' };

/** What a neuron earned at the last epoch: as a miner, a validator, or nothing. */
function role(r) {
  if (r.dividends > r.incentive) return 'validator';
  return r.incentive > 0 ? 'miner' : 'idle';
}

export async function subnet(main, [id], ctx) {
  const netuid = Number(id);
  const load = () => Promise.all([
    get(`/v1/subnets/${netuid}`), data(`/v1/subnets/${netuid}/metagraph`), data(`/v1/subnets/${netuid}/epochs?limit=${EPOCHS}`),
  ]);
  const [[env, mg, ep], hyper, cost] = await Promise.all([
    load(), data(`/v1/subnets/${netuid}/hyperparameters`), data(`/v1/subnets/${netuid}/registration-cost`),
  ]);
  if (!ctx.alive()) return;
  let s = env.data;
  let head = env.meta.height;
  let rows = metagraphRows(mg);
  let epochs = ep.items;
  let sort = { index: 0, dir: 'asc' };
  const statsBox = h('div', { class: 'stats' });
  const mgBox = h('div');
  const epochBox = h('div', { class: 'chart-box' });
  const scatterBox = h('div', { class: 'chart-box' });

  const nextEl = h('span');
  const drawStats = () => {
    fill(statsBox,
      stat('Neurons', `${fmtInt(s.n)} / ${fmtInt(s.max_n)}`, { id: 'subnet-n', sub: `registration: ${s.registration}` }),
      stat('Next epoch', nextEl, { id: 'next-epoch', sub: `tempo ${fmtInt(s.tempo)} blocks` }),
      stat('Emission share', s.emission_enabled ? pct(s.emission_share) : 'off', { id: 'emission-share', sub: h('span', {}, 'pending ', tao(s.pending_emission)) }),
      stat('Registration cost', tao(s.burn), { id: 'burn', sub: h('span', {}, 'burned; floor ', tao(cost.min_burn), ', cap ', tao(cost.max_burn, 0)) }));
    nextEl.textContent = blocks(nextEpochIn(netuid, s.tempo, head));
  };
  const col = (k, label, title, extra = {}) => ({ label, title, value: (r) => r[k], ...extra });
  const drawMetagraph = () => fill(mgBox, table({
    caption: `Metagraph of subnet ${netuid} at block ${fmtInt(mg.block)}: ${fmtInt(rows.length)} neuron(s); choose a column to sort`, id: 'metagraph', dense: true,
    sortable: true, sort, onSort: (x) => { sort = x; },
    columns: METAGRAPH.map(([k, label, title]) => {
      switch (k) {
        case 'uid': return col(k, label, title, { num: true });
        case 'stake': case 'emission': return col(k, label, title, { value: (r) => BigInt(r[k]), render: (r) => tao(r[k], k === 'stake' ? 2 : 4), num: true });
        case 'validator_permit': return col(k, label, title, { value: (r) => (r[k] ? 1 : 0), render: (r) => (r[k] ? h('span', { class: 'yes', title: 'validator permit' }, '✓') : '') });
        case 'active': return col(k, label, title, { value: (r) => (r[k] ? 1 : 0), render: (r) => (r[k] ? 'yes' : 'no') });
        case 'last_update': return col(k, label, title, { value: (r) => mg.block - r[k], render: (r) => fmtInt(mg.block - r[k]), num: true });
        case 'axon': return col(k, label, title, { value: (r) => r[k] || '', render: (r) => r[k] || h('span', { class: 'muted' }, '–') });
        case 'hotkey': return col(k, label, title, { render: (r) => hotkeyLink(r[k], false, 5) });
        case 'coldkey': return col(k, label, title, { render: (r) => accountLink(r[k], false, 5) });
        default: return col(k, label, title, { render: (r) => score(r[k]), num: true });
      }
    }),
    rows,
  }));
  const SPLIT = [
    { key: 'owner_cut', label: 'Owner cut' },
    { key: 'to_miners', label: 'Miners' },
    { key: 'to_validators', label: 'Validators' },
    { key: 'recycled', label: 'Recycled' },
  ];
  const drawEpochs = () => {
    const items = epochs.slice().reverse().map((e) => Object.fromEntries([['block', e.block], ...SPLIT.map((k) => [k.key, Number(BigInt(e[k.key])) / 1e9])]));
    const sum = (key) => epochs.reduce((a, e) => a + BigInt(e[key]), 0n).toString();
    fill(epochBox, epochs.length
      ? [legend(SPLIT), stacked(items, {
        keys: SPLIT, x: (it) => `#${it.block}`, width: widthOf(epochBox),
        label: `Emission split of the last ${epochs.length} epochs: ${SPLIT.map((k) => `${k.label} ${taoText(sum(k.key))} TAO`).join(', ')}`,
      }), h('p', { class: 'muted' }, `Over these ${epochs.length} epochs: `, SPLIT.map((k, i) => [i ? ', ' : '', `${k.label.toLowerCase()} `, tao(sum(k.key))]), '.')]
      : empty('No epoch has run yet.'));
  };
  const drawScatter = () => fill(scatterBox, rows.length
    ? [scatter(rows.map((r) => ({ x: r.incentive, y: r.dividends, label: `uid ${r.uid}`, kind: role(r) })), {
      label: `Incentive against dividends for ${rows.length} neurons: miners earn incentive, validators dividends`, xLabel: 'incentive', yLabel: 'dividends', width: widthOf(scatterBox), height: Math.min(320, Math.round(widthOf(scatterBox) * 0.8)),
    }), h('ul', { class: 'legend' }, ['miner', 'validator', 'idle'].map((k) => h('li', {}, h('span', { class: `swatch ${k}`, 'aria-hidden': 'true' }), ROLES[k])))]
    : empty('No neurons yet.'));

  const hyperRows = Object.entries(hyper).map(([name, v]) => ({ name, value: v.value, owner: v.owner_settable }));
  fill(main, page(`Subnet ${netuid}${s.name ? ' · ' + s.name : ''}`,
    statsBox,
    section('Metagraph', mgBox),
    h('div', { class: 'two wide-left' },
      section('Emission per epoch', h('p', { class: 'muted' }, 'Where each epoch\'s emission went (TAO), oldest left.'), epochBox),
      section('Incentive vs dividends', scatterBox)),
    h('div', { class: 'two' },
      section('Subnet', kv([
        ['Netuid', String(netuid)],
        ['Name', s.name || '—'],
        ['Owner', owner(s, true)],
        ['Owner hotkey', s.genesis ? '—' : hotkeyLink(s.owner_hotkey, true)],
        ['Registered at block', fmtInt(s.registered_at)],
        ['Registration', s.registration],
        ['PoW difficulty', s.pow_difficulty === null ? '—' : fmtInt(s.pow_difficulty)],
        ['Burn now', tao(cost.burn)],
        ['Burn range', h('span', {}, tao(cost.min_burn), ' – ', tao(cost.max_burn))],
      ])),
      section('Hyperparameters', table({
        caption: 'Hyperparameters (owner: settable by the subnet owner)', id: 'hyperparameters',
        columns: [
          { label: 'Name', value: (r) => r.name, render: (r) => h('code', {}, r.name) },
          { label: 'Value', value: (r) => r.value, render: (r) => (typeof r.value === 'number' ? fmtInt(r.value) : String(r.value)), num: true },
          { label: 'Owner', value: (r) => (r.owner ? 1 : 0), render: (r) => (r.owner ? 'yes' : 'no') },
        ],
        rows: hyperRows,
      }))),
  ));
  drawStats();
  drawMetagraph();
  drawEpochs();
  drawScatter();

  ctx.on('block', (ev) => {
    head = ev.height;
    nextEl.textContent = blocks(nextEpochIn(netuid, s.tempo, head));
  });
  const reload = coalesce(async () => {
    const [env2, mg2, ep2] = await load();
    if (!ctx.alive()) return;
    s = env2.data;
    head = Math.max(head, env2.meta.height);
    Object.assign(mg, mg2);
    rows = metagraphRows(mg2);
    epochs = ep2.items;
    drawStats();
    drawMetagraph();
    drawEpochs();
    drawScatter();
  });
  ctx.on('epoch', (e) => {
    if (e.netuid === netuid) reload();
  });
}
