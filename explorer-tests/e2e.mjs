// The explorer in a real browser (Debian's Chromium, driven by playwright-core): opens every
// page of a running devnet's explorer, checks what it shows against the REST API, makes a
// transfer with the CLI and watches it arrive on the account page, and saves a screenshot of
// each page. Run by cli/tests/explorer.rs:
//
//   node explorer-tests/e2e.mjs --url http://127.0.0.1:PORT --bin target/debug/tensorchain \
//        --home DIR --out docs/explorer [--chromium /usr/bin/chromium]
//
// Exits 0 when every check passed, 1 with the failed check's message otherwise.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    bin: { type: 'string' },
    home: { type: 'string' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
for (const k of ['url', 'bin', 'home', 'out']) {
  if (!opt[k]) {
    console.error(`explorer e2e: --${k} is required`);
    process.exit(2);
  }
}

// How long a page may take to show what is checked (the debug-built node on 2 busy cores).
const PAGE_MS = 15_000;
// Bob's dev coldkey (README), the recipient of the test's transfer.
const BOB = '5F6URqeMnYdmWF75S9C9e4iUrUeRREQ5XBjYobu54PrF9ycW';

let checks = 0;
/** Counts a check that passed; throws (ending the run, browser closed) on one that did not. */
function check(ok, what) {
  if (!ok) throw new Error(what);
  checks += 1;
}

// The node may limit this script's own reads too (they share the browser's address): a 429 is
// waited out as its Retry-After says, a few times.
async function rest(path) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${opt.url}${path}`);
    const body = await res.json();
    if (res.status === 429 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1000 * (Number(res.headers.get('retry-after')) || 1)));
      continue;
    }
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body.data;
  }
}
const restHead = async () => (await rest('/v1/node/syncing')).head;
const num = (text) => Number(String(text).replace(/[^\d]/g, ''));

const profile = mkdtempSync(join(tmpdir(), 'tensorchain-explorer-chromium-'));
mkdirSync(opt.out, { recursive: true });
// A fresh profile each run; playwright's own browsers are never downloaded.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: opt.chromium,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const page = context.pages()[0] || (await context.newPage());
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  // A 404 is how the pages ask whether something exists (is this address a hotkey? is this
  // number a subnet?): the browser logs it, the page handles it.
  if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(`console error: ${m.text()}`);
});
page.on('requestfailed', (r) => {
  // Navigating away aborts the event stream and any read in flight: not a failure.
  if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
});
// Answers over the client's budget: the explorer waits them out and retries.
let refused = 0;
page.on('response', (r) => {
  if (r.status() === 429) refused += 1;
});
page.on('request', (r) => {
  if (!r.url().startsWith(opt.url) && !r.url().startsWith('data:')) problems.push(`request to another origin: ${r.url()}`);
});

const t0 = Date.now();
/** Opens a page and waits until it is drawn (the explorer marks `main` with the page's path). */
async function open(hash) {
  await page.goto(`${opt.url}/explorer/${hash}`);
  await drawn(hash);
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${hash} drawn`);
}
async function drawn(hash) {
  const path = decodeURIComponent(hash.slice(2)).split('?')[0];
  await page.waitForFunction((p) => {
    const m = document.querySelector('main');
    return m.dataset.page === p && !m.hasAttribute('aria-busy');
  }, path, { timeout: PAGE_MS });
  const alert = page.locator('main [role="alert"]');
  if (await alert.count() > 0) check(false, `${hash} shows an error: ${await alert.first().innerText()}`);
  checks += 1; // no error on the page
}
async function shot(name) {
  await page.screenshot({ path: join(opt.out, `${name}.png`), fullPage: true });
}
const text = (sel) => page.locator(sel).first().innerText();
const rows = (sel) => page.locator(`${sel} tbody tr`).count();
const rao = (sel) => page.locator(`${sel} [data-rao]`).first().getAttribute('data-rao');

/** The CLI's `--json` answer to `args`, against the devnet. */
function cli(...args) {
  const out = execFileSync(opt.bin, [...args, '-y', '--json', '--network', opt.url], { env: { ...process.env, TENSORCHAIN_HOME: opt.home } });
  return JSON.parse(out);
}

try {
  // A second subnet beside the demo's (eve's, no stake yet: its emission is off).
  cli('subnet', 'create', '--uri', 'eve');

  // ---- overview: numbers against REST, and the head moving without a reload ----
  const supplyBefore = await rest('/v1/supply');
  await open('#/');
  await page.waitForSelector('#latest-blocks tbody tr');
  const shownHead = num(await text('#head-height'));
  const head = await restHead();
  check(Math.abs(shownHead - head) <= 2, `overview head ${shownHead}, REST head ${head}`);
  const vals = await rest('/v1/validators');
  const [online, total] = (await text('#validators-online')).split('/').map(num);
  check(total === vals.validators.length, `validators shown ${total}, REST ${vals.validators.length}`);
  check(online >= 1 && online <= total, `validators online ${online} of ${total}`);
  const issued = BigInt(await rao('#issuance'));
  const supplyAfter = await rest('/v1/supply');
  check(issued >= BigInt(supplyBefore.total_issuance) && issued <= BigInt(supplyAfter.total_issuance),
    `issuance shown ${issued}, REST between ${supplyBefore.total_issuance} and ${supplyAfter.total_issuance}`);
  check((await page.locator('#issuance [data-rao]').getAttribute('title')).includes('rao'), 'amounts carry rao on hover');
  check(await page.locator('.meter-mark').count() === 1, 'the next halving is marked on the supply bar');
  check(await page.locator('svg.chart .bar').count() > 5, 'the block interval chart has bars');
  await page.waitForFunction((h) => Number(document.querySelector('#head-height').innerText.replace(/\D/g, '')) >= h + 2,
    shownHead, { timeout: PAGE_MS });
  checks += 1; // the head advanced by two blocks without a reload
  await shot('overview');

  // ---- phone width: nothing wider than the screen ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the overview is ${overflow}px wider than a phone screen`);
  await shot('overview-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- blocks ----
  await open('#/blocks');
  check(await rows('#blocks') === 25, 'the blocks list shows a page of 25');
  const top = num(await text('#blocks tbody tr td'));
  check(Math.abs(top - (await restHead())) <= 2, `blocks list starts at ${top}`);
  await page.waitForFunction((t) => Number(document.querySelector('#blocks tbody tr td').innerText.replace(/\D/g, '')) > t, top, { timeout: PAGE_MS });
  checks += 1; // new blocks are added on top live
  await shot('blocks');

  // ---- validators ----
  await open('#/validators');
  check(await rows('#validators') === vals.validators.length, 'one row per validator');
  check((await text('#validators')).includes('signing'), 'validators show their state');
  await shot('validators');

  // ---- subnets ----
  const subnets = (await rest('/v1/subnets')).items;
  await open('#/subnets');
  check(await rows('#subnets') === subnets.length, `subnets table has ${subnets.length} rows`);
  check(await page.locator('svg.chart .bar').count() === subnets.length, 'one emission bar per subnet');
  await shot('subnets');

  // ---- subnet 1: the metagraph has n rows and sorts ----
  await open('#/subnet/1');
  const sn = await rest('/v1/subnets/1');
  check(await rows('#metagraph') === sn.n, `metagraph rows = n = ${sn.n}`);
  check((await text('#subnet-n')).startsWith(String(sn.n)), 'the subnet shows n');
  const mg = await rest('/v1/subnets/1/metagraph');
  await page.locator('#metagraph th button', { hasText: 'Stake' }).click();
  const sorted = await page.locator('#metagraph th[aria-sort="descending"]').innerText();
  check(sorted.trim().toUpperCase() === 'STAKE', `sorted by stake, descending (${sorted})`);
  // The page refreshes its metagraph live and emission moves stake every epoch, so the order is
  // checked against the stakes on screen (one read), not against a REST answer from another block.
  const shown = (await page.locator('#metagraph tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelector('[data-rao]').dataset.rao))).map(BigInt);
  check(shown.length === sn.n && shown.every((s, i) => i === 0 || shown[i - 1] >= s), 'the stake column is sorted, largest first');
  // By keyboard: the sort buttons are buttons, so Enter on a focused header sorts too.
  await page.locator('#metagraph th button', { hasText: 'Incentive' }).focus();
  await page.keyboard.press('Enter');
  const byKeys = await page.locator('#metagraph th[aria-sort="descending"]').innerText();
  check(byKeys.trim().toUpperCase() === 'INCENTIVE', `Enter on a header sorts by it (${byKeys})`);
  await page.locator('#metagraph th button', { hasText: 'Stake' }).click();
  check(await page.locator('svg.chart .seg').count() > 0, 'the emission split chart has epochs');
  check(await page.locator('svg.chart .dot').count() === sn.n, 'one scatter point per neuron');
  check(await rows('#hyperparameters') > 5, 'hyperparameters are listed');
  await shot('subnet');

  // ---- a validator's hotkey ----
  const v = mg.validator_permit.findIndex((p, i) => p && mg.hotkey[i] !== mg.hotkey[0]);
  const hk = mg.hotkey[v >= 0 ? v : 0];
  const hkInfo = await rest(`/v1/hotkeys/${hk}`);
  await open(`#/hotkey/${hk}`);
  await page.waitForSelector('#hotkey-subnets tbody tr');
  check(await rows('#hotkey-subnets') === hkInfo.registrations.length, 'one row per registration');
  check(BigInt(await rao('#hotkey-stake')) >= BigInt(hkInfo.total_stake), 'the hotkey shows its stake');
  await shot('hotkey');

  // ---- account: a transfer made now appears within two blocks, without a reload ----
  await open(`#/account/${BOB}`);
  const sent = cli('wallet', 'transfer', '--uri', 'alice', '--dest', BOB, '--amount', '1.25', '--no-wait');
  const { hash } = sent;
  check(/^0x[0-9a-f]{64}$/.test(hash), `the CLI submitted a transfer: ${JSON.stringify(sent)}`);
  await page.waitForSelector(`#account-txs a[href="#/tx/${hash}"]`, { timeout: PAGE_MS });
  const seenAt = await restHead();
  const tx = await rest(`/v1/txs/${hash}`);
  check(tx.status === 'included', `the transfer is ${tx.status}`);
  check(seenAt <= tx.height + 2, `the transfer of block ${tx.height} appeared on the page at head ${seenAt}`);
  const bob = await rest(`/v1/accounts/${BOB}`);
  await page.waitForFunction((free) => document.querySelector('#account-free [data-rao]').dataset.rao === free, bob.free, { timeout: PAGE_MS });
  checks += 1; // the free balance on screen is REST's
  await shot('account');

  // ---- the transfer's block and the transaction ----
  await open(`#/block/${tx.height}`);
  check(num(await text('#block-height')) === tx.height, 'the block page shows its height');
  check(await page.locator(`#block-txs a[href="#/tx/${hash}"]`).count() === 1, 'the block lists the transfer');
  const blk = await rest(`/v1/blocks/${tx.height}`);
  check(await rows('#commit-signatures') === blk.commit.signatures.length, 'one row per commit signature');
  await shot('block');
  await open(`#/tx/${hash}`);
  check(await text('#tx-status') === 'included', 'the transaction is shown included');
  check((await text('main')).includes('transfer'), 'the call is decoded');
  check(await page.locator('main [data-rao="1250000000"]').count() >= 1, 'the amount is shown (1.25 TAO)');
  await shot('tx');

  // ---- search: a tx hash, a netuid, an address, a height ----
  // Each from another page than where it leads, so arriving there is the search's doing.
  const search = async (q, expect) => {
    await page.fill('#q', q);
    await page.press('#q', 'Enter');
    await drawn(expect);
    checks += 1;
  };
  await search('sn1', '#/subnet/1');
  await search(BOB, `#/account/${BOB}`);
  await search(hash, `#/tx/${hash}`);
  // A number is a height, and a netuid too when such a subnet exists (then both are listed).
  const alsoSubnet = (await fetch(`${opt.url}/v1/subnets/${tx.height}`)).ok;
  await search(String(tx.height), alsoSubnet ? `#/search/${tx.height}` : `#/block/${tx.height}`);

  check(problems.length === 0, problems.join('\n'));
  console.log(`explorer e2e: ${checks} checks passed, screenshots in ${opt.out}; the browser got ${refused} rate-limit refusal(s), each waited out`);
} catch (e) {
  console.error(`explorer e2e FAILED after ${checks} checks: ${e.message}\n${problems.join('\n')}`);
  const where = join(tmpdir(), 'tensorchain-explorer-failure.png');
  await page.screenshot({ path: where, fullPage: true }).then(() => console.error(`the page then: ${where}`), () => {});
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
