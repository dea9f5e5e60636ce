// Building blocks of the pages: elements built from data (never HTML strings, so nothing the
// chain holds can inject markup), amounts, links, sortable tables and key-value lists.

/** An element: `h('a', {href: '#/'}, 'text', child)`. Attributes starting with `on` are
 * listeners; `class`, `title`, `data-*`, `aria-*` and the rest are set as attributes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- numbers and amounts --------------------------------------------------------------------

const RAO_PER_TAO = 1_000_000_000n;
const int = new Intl.NumberFormat('en-US');

export const fmtInt = (n) => (n === null || n === undefined ? '–' : int.format(n));

/** `rao` (a decimal string) as TAO with up to `digits` decimals, trailing zeros dropped. */
export function taoText(rao, digits = 4) {
  const v = BigInt(rao);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const whole = abs / RAO_PER_TAO;
  const frac = (abs % RAO_PER_TAO).toString().padStart(9, '0').slice(0, digits).replace(/0+$/, '');
  if (whole === 0n && frac === '' && abs > 0n) return `${neg ? '-' : ''}<0.${'0'.repeat(digits - 1)}1`;
  return `${neg ? '-' : ''}${int.format(whole)}${frac ? '.' + frac : ''}`;
}

/** The exact TAO value of `rao`: all nine decimals. */
export function taoExact(rao) {
  const v = BigInt(rao);
  const abs = v < 0n ? -v : v;
  return `${v < 0n ? '-' : ''}${abs / RAO_PER_TAO}.${(abs % RAO_PER_TAO).toString().padStart(9, '0')}`;
}

/** An amount: TAO on screen, the exact rao on hover (`title`) and in `data-rao` for scripts. */
export function tao(rao, digits = 4) {
  if (rao === null || rao === undefined) return h('span', {}, '–');
  return h('span', { class: 'amount', title: `${int.format(BigInt(rao))} rao (${taoExact(rao)} TAO)`, 'data-rao': rao },
    taoText(rao, digits), h('span', { class: 'unit' }, ' τ'));
}

export const pct = (x, digits = 2) => `${(x * 100).toFixed(digits)}%`;
/** A score in [0, 1] as the btcli shows it. */
export const score = (x) => (x === null || x === undefined ? '–' : x.toFixed(4));

/** How long ago a block time (ms) was, e.g. `4 s ago`. */
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export const time = (ms) => h('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString() }, ago(ms));

// ---- links ----------------------------------------------------------------------------------

export const short = (s, head = 8, tail = 6) => (s && s.length > head + tail + 1 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s);

export const link = (href, text, title) => h('a', { href, title }, text);
export const blockLink = (height) => link(`#/block/${height}`, fmtInt(height));
// Links and ids show `keep` characters at each end (all of it when `full`), the rest on hover.
export const txLink = (hash, full = false, keep = 8) => h('a', { href: `#/tx/${hash}`, title: hash, class: 'mono' }, full ? hash : short(hash, keep + 2, keep));
export const accountLink = (addr, full = false, keep = 7) => h('a', { href: `#/account/${addr}`, title: addr, class: 'mono' }, full ? addr : short(addr, keep, keep));
export const hotkeyLink = (addr, full = false, keep = 7) => h('a', { href: `#/hotkey/${addr}`, title: addr, class: 'mono' }, full ? addr : short(addr, keep, keep));
export const subnetLink = (netuid, name) => link(`#/subnet/${netuid}`, name ? `${netuid} · ${name}` : String(netuid));
export const mono = (s, full = false, keep = 8) => h('span', { class: 'mono', title: s }, full ? s : short(s, keep + 2, keep));

// ---- layout ---------------------------------------------------------------------------------

export function page(title, ...children) {
  document.title = `${title} · tensorchain explorer`;
  return [h('h1', {}, title), ...children];
}

export const section = (title, ...children) => h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...children);

/** A stat: a label and a big value (`id` lets tests and live updates find it). */
export const stat = (label, value, { id, sub } = {}) =>
  h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value', id }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);

/** A key-value list (`<dl>`): `[[key, value], …]`; rows with an undefined value are left out. */
export function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter((r) => r && r[1] !== undefined).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function errorBox(e) {
  const hint = e && e.hint ? h('p', { class: 'hint' }, e.hint) : null;
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, e && e.code ? `${e.code}: ` : 'error: '), (e && e.message) || String(e), hint);
}

export const empty = (text) => h('p', { class: 'empty' }, text);

// ---- tables ---------------------------------------------------------------------------------

/**
 * A real `<table>`: `columns` are `{label, value(row), render(row)?, num?, title?}`; `value`
 * gives what a column sorts by. With `sortable`, each header is a button that sorts by its
 * column (again: the other way), and `aria-sort` says how the table is sorted; `onSort(sort)`
 * hears each choice, so a page that redraws the table can keep it (`sort`).
 */
export function table({ caption, columns, rows, sortable = false, id, emptyText = 'Nothing yet.', sort: initial, onSort, dense = false }) {
  const tbody = h('tbody');
  const headCells = [];
  let sort = initial || null; // {index, dir}
  const draw = () => {
    let list = rows;
    if (sort) {
      const col = columns[sort.index];
      list = [...rows].sort((a, b) => compare(col.value(a), col.value(b)) * (sort.dir === 'asc' ? 1 : -1));
    }
    fill(tbody, list.length ? list.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, (c.render || c.value)(r))))) : h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, emptyText)));
    headCells.forEach((th, i) => th.setAttribute('aria-sort', sort && sort.index === i ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'));
  };
  const thead = h('thead', {}, h('tr', {}, columns.map((c, i) => {
    const label = c.title ? h('abbr', { title: c.title }, c.label) : c.label;
    const th = h('th', { scope: 'col', class: c.num ? 'num' : null }, sortable
      ? h('button', { type: 'button', class: 'sort', onclick: () => {
        sort = { index: i, dir: sort && sort.index === i && sort.dir === 'desc' ? 'asc' : 'desc' };
        if (onSort) onSort(sort);
        draw();
      } }, label, h('span', { class: 'arrow', 'aria-hidden': 'true' }))
      : label);
    headCells.push(th);
    return th;
  })));
  const t = h('table', { id, class: dense ? 'dense' : null }, caption ? h('caption', {}, caption) : null, thead, tbody);
  draw();
  if (!sortable) headCells.forEach((th) => th.removeAttribute('aria-sort'));
  // Wide tables scroll inside their own region, reachable by keyboard, at phone width.
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption || 'table' }, t);
}

function compare(a, b) {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a ?? 0);
    const y = BigInt(b ?? 0);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return String(a).localeCompare(String(b));
}
