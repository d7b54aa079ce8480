// polkadot.js check of the proof-of-train game on a dev node, driven only by extrinsics: a
// client orders training, the worker commits and reveals its proof of train, three validators
// are drawn, they and the worker commit and reveal their reports, and the order settles: the
// escrow is paid out exactly and certificate NFTs are minted with the model's attributes.
//
// The "training" is simulated with the shared hashing rules (primitives/src/proof.rs): the
// state after step s is the checkpoint of parameters [[1, s]] and no optimizer state, so every
// hash here is what the Rust primitives compute.
// usage: node proof.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { bnToU8a, stringToU8a, u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const DCEN = 10n ** 12n;

function fail(message) {
  console.error(`proof check failed: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail('not done within 540 s'), 540_000);
const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true });

// Waits for inclusion in a block (blocks are 3 s); returns the events of the extrinsic.
function send(tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, ({ status, dispatchError, events }) => {
      if (dispatchError) {
        if (dispatchError.isModule) {
          const { section, name } = api.registry.findMetaError(dispatchError.asModule);
          reject(new Error(`${section}.${name}`));
        } else {
          reject(new Error(dispatchError.toString()));
        }
      } else if (status.isInBlock) {
        resolve(events.map(({ event }) => event));
      }
    }).catch(reject);
  });
}

async function expectError(promise, error) {
  try {
    await promise;
  } catch (e) {
    if (e.message !== error) fail(`expected ${error}, got ${e.message}`);
    return;
  }
  fail(`expected ${error}, but the call succeeded`);
}

const fees = new Map();
function chargeFees(events) {
  for (const e of events) {
    if (e.section === 'transactionPayment' && e.method === 'TransactionFeePaid') {
      const who = e.data.who.toString();
      fees.set(who, (fees.get(who) ?? 0n) + e.data.actualFee.toBigInt() + e.data.tip.toBigInt());
    }
  }
  return events;
}
const submit = async (tx, signer) => chargeFees(await send(tx, signer));

async function until(what, check, seconds = 120) {
  for (let waited = 0; waited < seconds * 2; waited++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  fail(`timed out waiting for ${what}`);
}

const free = async (who) => (await api.query.system.account(who)).data.free.toBigInt();

// --- the shared hashing rules, as primitives/src/{hashing,merkle,proof}.rs define them ---
const H = (domain, ...parts) => blake2AsU8a(u8aConcat(stringToU8a(domain), ...parts), 256);
const u32 = (n) => bnToU8a(n, { bitLength: 32, isLe: true });
const u64 = (n) => bnToU8a(n, { bitLength: 64, isLe: true });
function f32s(values) {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return bytes;
}
const tensors = (list) => u8aConcat(u32(list.length), ...list.map((t) => u8aConcat(u64(t.length), f32s(t))));
const state = (step) => H('decenter/checkpoint', u64(step), tensors([[1, step]]), tensors([]));
function merkleRoot(items) {
  let level = items.map((item) => H('decenter/merkle-leaf', item));
  if (level.length === 0) return H('decenter/merkle-node');
  while (level.length > 1) {
    const up = [];
    for (let i = 0; i + 1 < level.length; i += 2) up.push(H('decenter/merkle-node', level[i], level[i + 1]));
    if (level.length % 2 === 1) up.push(level[level.length - 1]);
    level = up;
  }
  return level[0];
}
const seal = (value, salt, account) => H('decenter/seal', value, salt, decodeAddress(account));
const argType = (call, index) => call.meta.args[index].type.toString();

// --- accounts ---
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const client = keyring.addFromUri('//DeCenterProofClient');
const worker = keyring.addFromUri('//DeCenterProofWorker');
const validators = [0, 1, 2].map((i) => keyring.addFromUri(`//DeCenterProofValidator${i}`));
for (const who of [client, worker, ...validators]) {
  await send(api.tx.balances.transferKeepAlive(who.address, 1_000n * DCEN), alice);
}
const capacity = 100;
const bond = (await api.call.computeStakingApi.requiredBond(capacity)).toBigInt();
await Promise.all([
  submit(api.tx.computeStaking.registerWorker(capacity, 'CPU', 'http://127.0.0.1:8701', bond), worker),
  ...validators.map((v, i) =>
    submit(api.tx.computeStaking.registerValidator(capacity, 'CPU', `http://127.0.0.1:871${i}`, bond), v)),
]);
console.log('worker and 3 validators registered');

// --- the order: 8 steps, a checkpoint every 2 (4 segments, all checked by every validator) ---
const dataset = (records) => ({
  artifact: { root: `0x${'07'.repeat(32)}`, size: 4096, location: 'http://127.0.0.1:8700/digits.csv' },
  records, features: 64, label: { Class: { classes: 10 } },
});
const STEPS = 8;
const INTERVAL = 2;
const spec = {
  training: {
    model: { inputs: 64, hidden: [32], outputs: 10, activation: 'Relu', loss: 'SoftmaxCrossEntropy' },
    optimizer: 'Sgd', learningRate: 100_000_000, schedule: 'Constant', batchSize: 32,
    steps: STEPS, seed: 1, checkpointInterval: INTERVAL, initialization: 'Seeded',
  },
  dataset: dataset(1_500), validation: dataset(297), workload: { Replicas: 1 },
};
const budget = 100n * DCEN;
const head = (await api.rpc.chain.getHeader()).number.toNumber();
let events = await submit(api.tx.trainingOrders.createOrder(spec, capacity, null, head + 300, head + 600, budget), client);
const id = events.find((e) => e.section === 'trainingOrders' && e.method === 'OrderCreated').data.order.toNumber();
const status = async () => (await api.query.trainingOrders.orders(id)).unwrap().status.toString();
await until('assignment', async () => (await status()) === 'Assigned');
await submit(api.tx.trainingOrders.confirmAssignment(id), worker);
if ((await status()) !== 'Training') fail(`order ${id} is ${await status()}, expected Training`);
console.log(`order ${id} assigned and training`);

// --- proof of train: commit, then reveal ---
const checkpointStep = (i) => Math.min(i * INTERVAL, STEPS);
const checkpoints = [0, 1, 2, 3, 4].map((i) => state(checkpointStep(i)));
const commitment = api.createType(argType(api.tx.proofOfTrain.revealProof, 1), {
  checkpointRoot: merkleRoot(checkpoints),
  checkpoints: 4,
  finalModel: H('decenter/model', tensors([[1, STEPS]])),
  lossTrace: H('decenter/loss-trace', tensors([[2.5, 1.25]])),
});
const commitmentHash = H('decenter/pot-commitment', commitment.toU8a());
const workerSalt = blake2AsU8a(stringToU8a('worker salt'), 256);
await submit(api.tx.proofOfTrain.commitProof(id, seal(commitmentHash, workerSalt, worker.address)), worker);
if ((await status()) !== 'Proving') fail('the commit did not move the order to Proving');
await expectError(
  send(api.tx.proofOfTrain.revealProof(id, commitment, blake2AsU8a(stringToU8a('other'), 256), checkpoints), worker),
  'proofOfTrain.SealMismatch',
);
await submit(api.tx.proofOfTrain.revealProof(id, commitment, workerSalt, checkpoints), worker);
console.log('proof committed and revealed');

// --- validators are drawn in the next block ---
const round = await until('the validator draw', async () => {
  const r = await api.query.proofOfTrain.rounds(id);
  return r.isSome && r.unwrap().phase.isReporting ? r.unwrap() : null;
});
const drawn = round.validators.map((v) => v.account.toString()).sort();
if (JSON.stringify(drawn) !== JSON.stringify(validators.map((v) => v.address).sort())) fail(`drew ${drawn}`);
if ((await status()) !== 'Validating') fail('order not Validating after the draw');
console.log(`validators drawn, ${round.tasks.length} segment checks`);

// --- reports: every reporter re-executes its tasks (here: the honest hashes) ---
const reportType = argType(api.tx.proofOfTrain.revealReport, 1);
async function reportOf(who, isValidator) {
  const tasks = await api.call.proofOfTrainApi.tasksOf(id, who.address);
  const claims = tasks.map(([, task]) => ({
    Computed: {
      end: state(checkpointStep(task.segment.toNumber() + 1)),
      probe: state(task.probeStep.toNumber()),
    },
  }));
  const metrics = isValidator ? [{ loss: 250_000_000, accuracy: 937_500 }] : [];
  return api.createType(reportType, { claims, metrics });
}
const reporters = [...validators.map((v) => [v, true]), [worker, false]];
const reports = await Promise.all(reporters.map(([who, isValidator]) => reportOf(who, isValidator)));
const salts = reporters.map(([who]) => blake2AsU8a(stringToU8a(`salt ${who.address}`), 256));
await Promise.all(reporters.map(([who], i) =>
  submit(api.tx.proofOfTrain.commitReport(id, seal(H('decenter/report', reports[i].toU8a()), salts[i], who.address)), who)));
const phase = (await api.query.proofOfTrain.rounds(id)).unwrap().phase;
if (!phase.isRevealingReports) fail(`phase ${phase} after every commit, expected RevealingReports`);

const before = new Map();
for (const who of [client.address, worker.address, ...validators.map((v) => v.address)]) {
  before.set(who, await free(who));
  fees.set(who, 0n);
}
const revealed = await Promise.all(reporters.map(([who], i) =>
  submit(api.tx.proofOfTrain.revealReport(id, reports[i], salts[i]), who)));
const all = revealed.flat();
const settled = all.find((e) => e.section === 'proofOfTrain' && e.method === 'Settled');
if (!settled) fail('no proofOfTrain.Settled event');
const completed = all.find((e) => e.section === 'trainingOrders' && e.method === 'OrderCompleted');
if (!completed) fail('no trainingOrders.OrderCompleted event');
if ((await status()) !== 'Completed') fail(`order is ${await status()}`);
if (all.some((e) => e.section === 'proofOfTrain' && e.method === 'Faulted')) fail('an honest party was faulted');

// --- the escrow, paid out exactly: 80 % worker, 15 % validators, 5 % treasury ---
const { workersPaid, validatorsPaid, fee, refunded } = completed.data;
if (workersPaid.toBigInt() !== budget * 80n / 100n) fail(`workers paid ${workersPaid}`);
if (validatorsPaid.toBigInt() !== budget * 15n / 100n) fail(`validators paid ${validatorsPaid}`);
if (fee.toBigInt() !== budget * 5n / 100n) fail(`fee ${fee}`);
if (refunded.toBigInt() !== 0n) fail(`refunded ${refunded}`);
const gained = async (who) => (await free(who)) - before.get(who) + fees.get(who);
if ((await gained(worker.address)) !== budget * 80n / 100n) fail(`worker gained ${await gained(worker.address)}`);
for (const v of validators) {
  if ((await gained(v.address)) !== budget * 5n / 100n) fail(`validator gained ${await gained(v.address)}`);
}
const deposit = api.consts.trainingOrders.orderDeposit.toBigInt();
if ((await gained(client.address)) !== deposit) fail(`client got back ${await gained(client.address)}, expected the deposit`);
console.log(`order ${id} settled: ${workersPaid.toBigInt() / DCEN} DCEN to the worker, ${validatorsPaid.toBigInt() / DCEN} to the validators, ${fee.toBigInt() / DCEN} fee`);

// --- certificates: NFTs in the pallet's collection, with attributes ---
const ids = settled.data.certificates.map((n) => n.toNumber());
if (ids.length !== 5) fail(`${ids.length} certificates, expected 5 (model, worker, 3 validators)`);
const collection = (await api.query.certificates.certificateCollection()).unwrap();
const modelHash = u8aToHex(commitment.finalModel);
if (settled.data.modelHash.unwrap().toHex() !== modelHash) fail('settled a different model');
const item = async (n) => (await api.query.nfts.item(collection, n)).unwrap();
if ((await item(ids[0])).owner.toString() !== client.address) fail('model certificate not owned by the client');
if ((await item(ids[1])).owner.toString() !== worker.address) fail('worker certificate not owned by the worker');
const attribute = async (n, key) => {
  const value = await api.query.nfts.attribute(collection, n, { Pallet: null }, key);
  return new TextDecoder().decode(hexToU8a(value.unwrap()[0].toHex()));
};
if ((await attribute(ids[0], 'model_hash')) !== modelHash) fail('model_hash attribute');
if ((await attribute(ids[0], 'order')) !== `${id}`) fail('order attribute');
if ((await attribute(ids[0], 'accuracy')) !== '0.937500') fail('accuracy attribute');
if ((await attribute(ids[2], 'kind')) !== 'validator') fail('kind attribute');
const byModel = (await api.call.certificatesApi.certificatesForModel(modelHash)).map((n) => n.toNumber());
if (JSON.stringify(byModel) !== JSON.stringify(ids)) fail(`certificates for the model: ${byModel}`);
const mine = (await api.call.certificatesApi.certificatesOf(client.address)).map((n) => n.toNumber());
if (!mine.includes(ids[0])) fail('the client does not hold the model certificate');
await expectError(send(api.tx.nfts.transfer(collection, ids[1], alice.address), worker), 'nfts.ItemLocked');
console.log(`certificates ${ids.join(', ')} minted in collection ${collection}`);

console.log('proof check passed: committed, revealed, validated, paid out exactly, certified');
clearTimeout(timer);
await api.disconnect();
