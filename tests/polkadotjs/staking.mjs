// polkadot.js check of compute staking: an account registers as a worker, sees its bond held,
// chills, unbonds everything, and withdraws once the unbonding period (10 blocks on --dev) is over.
// usage: node staking.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const DCEN = 10n ** 12n;

function fail(message) {
  console.error(`staking check failed: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail('not done within 300 s'), 300_000);
const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true });

// Submits `tx` signed by `signer`; resolves with the finalized events, rejects with the decoded
// module error (e.g. "computeStaking.BondTooSmall").
function send(tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, dispatchError, events }) => {
      if (dispatchError) {
        if (dispatchError.isModule) {
          const { section, name } = api.registry.findMetaError(dispatchError.asModule);
          reject(new Error(`${section}.${name}`));
        } else {
          reject(new Error(dispatchError.toString()));
        }
      } else if (status.isFinalized) {
        resolve(events.map(({ event }) => event));
      }
    }).catch(reject);
  });
}

async function expectError(tx, signer, wanted) {
  try {
    await send(tx, signer);
  } catch (e) {
    if (e.message === wanted) return;
    fail(`expected ${wanted}, got ${e.message}`);
  }
  fail(`expected ${wanted}, but the call succeeded`);
}

function find(events, method) {
  const event = events.find((e) => e.section === 'computeStaking' && e.method === method);
  if (!event) fail(`no ComputeStaking.${method} event`);
  return event;
}

async function bondHeld(address) {
  const holds = await api.query.balances.holds(address);
  const bond = holds.find((h) => h.id.isComputeStaking && h.id.asComputeStaking.isBond);
  return bond ? bond.amount.toBigInt() : 0n;
}

const docs = api.tx.computeStaking.registerWorker.meta.docs.map((d) => d.toString()).join(' ');
if (!docs.includes('Join the worker pool')) fail(`registerWorker has no doc comment in the metadata: "${docs}"`);

const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const worker = keyring.addFromUri('//DeCenterStakingWorker');
await send(api.tx.balances.transferKeepAlive(worker.address, 10_000n * DCEN), alice);

const capacity = 2_000; // GFLOP/s
const required = (await api.call.computeStakingApi.requiredBond(capacity)).toBigInt();
const minBond = api.consts.computeStaking.minBond.toBigInt();
const perUnit = api.consts.computeStaking.bondPerComputeUnit.toBigInt();
if (required !== minBond + perUnit * BigInt(capacity)) fail(`required bond ${required} does not follow the constants`);
console.log(`required bond for ${capacity} GFLOP/s: ${required / DCEN} DCEN`);

const register = (bond) =>
  api.tx.computeStaking.registerWorker(capacity, 'CPU, 2 cores', 'http://127.0.0.1:8700', bond);
await expectError(register(required - 1n), worker, 'computeStaking.BondTooSmall');

const bond = required + 10n * DCEN;
let events = await send(register(bond), worker);
find(events, 'Registered');
if ((await bondHeld(worker.address)) !== bond) fail('the bond is not held under ComputeStaking.Bond');
const record = (await api.query.computeStaking.participants(worker.address)).unwrap();
if (!record.role.isWorker || record.bond.toBigInt() !== bond) fail(`unexpected participant record ${record.toString()}`);
const viaApi = await api.call.computeStakingApi.participant(worker.address);
if (viaApi.isNone) fail('the runtime API does not see the participant');
console.log(`registered, ${bond / DCEN} DCEN held`);

// Held funds cannot be moved.
const free = (await api.query.system.account(worker.address)).data.free.toBigInt();
const moved = await send(api.tx.balances.transferKeepAlive(alice.address, free + DCEN), worker).then(
  () => true,
  (e) => {
    console.log(`moving held funds refused: ${e.message}`);
    return false;
  },
);
if (moved || (await bondHeld(worker.address)) !== bond) fail('held funds could be transferred');

await send(api.tx.computeStaking.chill(), worker);
if (!(await api.query.computeStaking.participants(worker.address)).unwrap().status.isChilled) fail('not chilled');
console.log('chilled');

events = await send(api.tx.computeStaking.unbond(bond), worker);
const unlocksAt = find(events, 'Unbonded').data.unlocksAt.toNumber();
find(events, 'Left');
if ((await api.query.computeStaking.participants(worker.address)).isSome) fail('still a participant after unbonding everything');
if ((await bondHeld(worker.address)) !== bond) fail('unbonding funds are no longer held');
await expectError(api.tx.computeStaking.withdrawUnbonded(), worker, 'computeStaking.NothingToWithdraw');
console.log(`unbonding until block ${unlocksAt}`);

await new Promise((resolve) => {
  api.rpc.chain.subscribeFinalizedHeads((header) => {
    if (header.number.toNumber() >= unlocksAt) resolve();
  });
});
events = await send(api.tx.computeStaking.withdrawUnbonded(), worker);
if (find(events, 'Withdrawn').data.amount.toBigInt() !== bond) fail('withdrawn amount differs from the bond');
if ((await bondHeld(worker.address)) !== 0n) fail('funds still held after withdrawing');

console.log('staking check passed: registered, held, chilled, unbonded and withdrawn');
clearTimeout(timer);
await api.disconnect();
