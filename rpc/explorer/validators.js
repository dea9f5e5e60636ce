// The consensus set: voting power, share, last signed height and jailed state; what is scheduled
// next; the jailed; the candidates.

import { coalesce, data } from './api.js';
import { h, fill, page, section, stat, tao, fmtInt, table, hotkeyLink, pct, empty } from './ui.js';

// A validator whose last signature is more than this many blocks old is shown as behind.
const BEHIND_AFTER = 10;
// The set is a heavy read: refreshed every this many blocks.
const REFRESH_EVERY = 5;

function state(v, head, jailed) {
  if (jailed.has(v.hotkey)) return ['jailed', 'jailed'];
  if (v.last_signed_height === null) return ['not signing', 'behind'];
  return head - v.last_signed_height < BEHIND_AFTER ? ['signing', 'ok'] : ['behind', 'behind'];
}

export async function render(main, _params, ctx) {
  let [v, sync] = await Promise.all([data('/v1/validators'), data('/v1/node/syncing')]);
  if (!ctx.alive()) return;
  let head = sync.head;
  let sort = { index: 1, dir: 'desc' };
  const box = h('div');
  const draw = () => {
    const jailed = new Map(v.jailed.map((j) => [j.hotkey, j.jailed_until]));
    const online = v.validators.filter((x) => state(x, head, jailed)[1] === 'ok').length;
    fill(box,
      h('div', { class: 'stats' },
        stat('Validators', fmtInt(v.validators.length), { id: 'validator-count', sub: `at most ${fmtInt(v.max_validators)}` }),
        stat('Signing', `${online} / ${v.validators.length}`, { id: 'validators-signing', sub: `signed in the last ${BEHIND_AFTER} blocks` }),
        stat('Total power', tao(v.total_power, 0), { id: 'total-power' }),
        stat('Set recomputed', `every ${fmtInt(v.validator_epoch)} blocks`, { sub: v.next_set_from ? `next set from block ${fmtInt(v.next_set_from)}` : 'no change scheduled' })),
      section('Consensus set', table({
        caption: 'The validators signing the next block', id: 'validators', sortable: true, sort, onSort: (s) => { sort = s; },
        columns: [
          { label: 'Hotkey', value: (x) => x.hotkey, render: (x) => hotkeyLink(x.hotkey, true) },
          { label: 'Power', value: (x) => BigInt(x.voting_power), render: (x) => tao(x.voting_power, 0), num: true },
          { label: 'Share', value: (x) => x.power_share, render: (x) => h('span', { class: 'share' }, h('span', { class: 'share-track', 'aria-hidden': 'true' }, h('span', { class: 'share-fill', 'data-width': x.power_share })), pct(x.power_share)), num: true },
          { label: 'Last signed', value: (x) => x.last_signed_height ?? -1, render: (x) => (x.last_signed_height === null ? '–' : fmtInt(x.last_signed_height)), num: true },
          { label: 'State', value: (x) => state(x, head, jailed)[0], render: (x) => h('span', { class: `badge ${state(x, head, jailed)[1]}` }, state(x, head, jailed)[0]) },
        ],
        rows: v.validators,
      })),
      v.next_set.length ? section(`Next set (from block ${fmtInt(v.next_set_from)})`, table({
        caption: 'Scheduled validator set',
        columns: [
          { label: 'Hotkey', value: (x) => x.hotkey, render: (x) => hotkeyLink(x.hotkey, true) },
          { label: 'Power', value: (x) => BigInt(x.voting_power), render: (x) => tao(x.voting_power, 0), num: true },
          { label: 'Share', value: (x) => x.power_share, render: (x) => pct(x.power_share), num: true },
        ],
        rows: v.next_set,
      })) : null,
      section('Jailed', v.jailed.length ? table({
        caption: 'Validators jailed for equivocation', id: 'jailed',
        columns: [
          { label: 'Hotkey', value: (j) => j.hotkey, render: (j) => hotkeyLink(j.hotkey, true) },
          { label: 'Jailed until', value: (j) => j.jailed_until, render: (j) => fmtInt(j.jailed_until), num: true },
        ],
        rows: v.jailed,
      }) : empty('Nobody is jailed.')),
      section('Candidates', table({
        caption: 'Hotkeys offered as validators: the top stakes form the set at each validator epoch', id: 'candidates', sortable: true,
        columns: [
          { label: 'Hotkey', value: (c) => c.hotkey, render: (c) => hotkeyLink(c.hotkey, true) },
          { label: 'Stake', value: (c) => BigInt(c.stake), render: (c) => tao(c.stake, 0), num: true },
          { label: 'Registered at', value: (c) => c.registered_at, render: (c) => fmtInt(c.registered_at), num: true },
        ],
        rows: v.candidates, emptyText: 'No candidates.',
      })),
    );
    for (const el of box.querySelectorAll('[data-width]')) el.style.width = `${Number(el.dataset.width) * 100}%`;
  };
  fill(main, page('Validators', box));
  draw();
  let readAt = head;
  ctx.on('block', coalesce(async (ev) => {
    head = ev.height;
    if (head < readAt + REFRESH_EVERY) return;
    readAt = head;
    v = await data('/v1/validators');
    if (ctx.alive()) draw();
  }));
}
