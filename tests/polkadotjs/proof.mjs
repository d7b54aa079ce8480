// polkadot.js check of the proof-of-train game on a dev node, driven only by extrinsics:
// 1. an honest order: the worker commits and reveals its proof of train, three validators are
//    drawn, they and the worker commit and reveal their reports, and the order settles: the
//    escrow is paid out exactly and certificate NFTs are minted with the model's attributes;
// 2. a worker that skipped training: the validators' re-execution contradicts it, three
//    referees are drawn and confirm, the worker is slashed and the client refunded.
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
const NO_OPTIMIZER_STATE = H('decenter/optimizer-state', tensors([]));
const checkpoint = (step, first) =>
  H('decenter/checkpoint', u64(step), H('decenter/model', tensors([[first, step]])), NO_OPTIMIZER_STATE);
const state = (step) => checkpoint(step, 1);
// What a worker that skipped training publishes.
const forged = (step) => checkpoint(step, 9);
// What re-executing from a state that is not the honest one yields (any fixed rule will do).
const rerun = (start, step) => blake2AsU8a(u8aConcat(start, u32(step)), 256);
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

// --- accounts: a client, a worker, six validators (three per order, three referees) ---
const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const client = keyring.addFromUri('//DeCenterProofClient');
const worker = keyring.addFromUri('//DeCenterProofWorker');
const validators = [0, 1, 2, 3, 4, 5].map((i) => keyring.addFromUri(`//DeCenterProofValidator${i}`));
const byAddress = new Map([client, worker, ...validators].map((k) => [k.address, k]));
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
console.log('worker and 6 validators registered');

// --- orders of 8 steps, a checkpoint every 2 (4 segments, all checked by every validator) ---
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
const checkpointStep = (i) => Math.min(i * INTERVAL, STEPS);
const status = async (id) => (await api.query.trainingOrders.orders(id)).unwrap().status.toString();
const round = async (id) => (await api.query.proofOfTrain.rounds(id)).unwrap();

async function startOrder() {
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  // The shortest validation window for this spec: the game's fixed windows and its checkers' work.
  const minValidation = (await api.call.trainingOrdersApi.quote(spec, capacity)).asOk.minValidationWindow.toNumber();
  const events = await submit(api.tx.trainingOrders.createOrder(spec, capacity, null, head + 300, head + 300 + minValidation, budget), client);
  const id = events.find((e) => e.section === 'trainingOrders' && e.method === 'OrderCreated').data.order.toNumber();
  await until('assignment', async () => (await status(id)) === 'Assigned');
  await submit(api.tx.trainingOrders.confirmAssignment(id), worker);
  if ((await status(id)) !== 'Training') fail(`order ${id} is ${await status(id)}, expected Training`);
  console.log(`order ${id} assigned and training`);
  return id;
}

// A worker's run: honest, or forged after step 0.
function run(honest) {
  const at = (step) => (honest || step === 0 ? state(step) : forged(step));
  const checkpoints = [0, 1, 2, 3, 4].map((i) => at(checkpointStep(i)));
  const commitment = api.createType(argType(api.tx.proofOfTrain.revealProof, 1), {
    checkpointRoot: merkleRoot(checkpoints),
    checkpoints: 4,
    finalModel: H('decenter/model', tensors([[honest ? 1 : 9, STEPS]])),
    finalState: NO_OPTIMIZER_STATE,
    lossTrace: H('decenter/loss-trace', tensors([[2.5, 1.25]])),
  });
  // What the worker claims about a task, and what honest re-execution from its checkpoint gives.
  const own = (task) => ({ end: checkpoints[task.segment.toNumber() + 1], probe: at(task.probeStep.toNumber()) });
  const reexecute = (task) => {
    const segment = task.segment.toNumber();
    const start = checkpoints[segment];
    const [endStep, probeStep] = [checkpointStep(segment + 1), task.probeStep.toNumber()];
    return u8aToHex(start) === u8aToHex(state(checkpointStep(segment)))
      ? { end: state(endStep), probe: state(probeStep) }
      : { end: rerun(start, endStep), probe: rerun(start, probeStep) };
  };
  return { checkpoints, commitment, own, reexecute };
}

async function prove(id, work) {
  const commitmentHash = H('decenter/pot-commitment', work.commitment.toU8a());
  const salt = blake2AsU8a(stringToU8a(`worker salt ${id}`), 256);
  await submit(api.tx.proofOfTrain.commitProof(id, seal(commitmentHash, salt, worker.address)), worker);
  if ((await status(id)) !== 'Proving') fail('the commit did not move the order to Proving');
  await expectError(
    send(api.tx.proofOfTrain.revealProof(id, work.commitment, blake2AsU8a(stringToU8a('other'), 256), work.checkpoints), worker),
    'proofOfTrain.SealMismatch',
  );
  await submit(api.tx.proofOfTrain.revealProof(id, work.commitment, salt, work.checkpoints), worker);
  const drawn = await until('the validator draw', async () => {
    const r = await api.query.proofOfTrain.rounds(id);
    return r.isSome && r.unwrap().phase.isReporting ? r.unwrap().validators.map((v) => v.account.toString()) : null;
  });
  if (drawn.length !== 3 || drawn.some((a) => !validators.some((v) => v.address === a))) fail(`drew ${drawn}`);
  if ((await status(id)) !== 'Validating') fail('order not Validating after the draw');
  console.log(`proof committed and revealed, validators drawn`);
  return drawn;
}

// Every reporter of the current phase (`accounts`) commits its report, then all reveal; the
// worker reports its own claims, validators and referees re-execute. Returns the reveal events.
const reportType = argType(api.tx.proofOfTrain.revealReport, 1);
async function reportPhase(id, work, accounts, expectNext) {
  const reports = await Promise.all(accounts.map(async (address) => {
    const tasks = await api.call.proofOfTrainApi.tasksOf(id, address);
    const isWorker = address === worker.address;
    const claims = tasks.map(([, task]) => ({ Computed: isWorker ? work.own(task) : work.reexecute(task) }));
    const isValidator = (await round(id)).validators.some((v) => v.account.toString() === address);
    const metrics = isValidator ? [{ loss: 250_000_000, accuracy: 937_500 }] : [];
    return api.createType(reportType, { claims, metrics });
  }));
  const salts = accounts.map((address) => blake2AsU8a(stringToU8a(`salt ${id} ${address}`), 256));
  await Promise.all(accounts.map((address, i) => submit(
    api.tx.proofOfTrain.commitReport(id, seal(H('decenter/report', reports[i].toU8a()), salts[i], address)),
    byAddress.get(address),
  )));
  const phase = (await round(id)).phase;
  if (!phase[`is${expectNext}`]) fail(`phase ${phase} after every commit, expected ${expectNext}`);
  const revealed = await Promise.all(accounts.map((address, i) =>
    submit(api.tx.proofOfTrain.revealReport(id, reports[i], salts[i]), byAddress.get(address))));
  return revealed.flat();
}

const event = (events, section, method) => events.find((e) => e.section === section && e.method === method);

// --- 1. an honest order ---
const honestWork = run(true);
const honest = await startOrder();
const drawn = await prove(honest, honestWork);
const watched = [client.address, worker.address, ...drawn];
const before = new Map();
for (const who of watched) {
  before.set(who, await free(who));
  fees.set(who, 0n);
}
const settledEvents = await reportPhase(honest, honestWork, [...drawn, worker.address], 'RevealingReports');
const settled = event(settledEvents, 'proofOfTrain', 'Settled');
if (!settled) fail('no proofOfTrain.Settled event');
const completed = event(settledEvents, 'trainingOrders', 'OrderCompleted');
if (!completed) fail('no trainingOrders.OrderCompleted event');
if ((await status(honest)) !== 'Completed') fail(`order is ${await status(honest)}`);
if (event(settledEvents, 'proofOfTrain', 'Faulted')) fail('an honest party was faulted');

// The escrow, paid out exactly: 80 % worker, 15 % validators, 5 % treasury.
const { workersPaid, validatorsPaid, fee, refunded } = completed.data;
if (workersPaid.toBigInt() !== budget * 80n / 100n) fail(`workers paid ${workersPaid}`);
if (validatorsPaid.toBigInt() !== budget * 15n / 100n) fail(`validators paid ${validatorsPaid}`);
if (fee.toBigInt() !== budget * 5n / 100n) fail(`fee ${fee}`);
if (refunded.toBigInt() !== 0n) fail(`refunded ${refunded}`);
const gained = async (who) => (await free(who)) - before.get(who) + fees.get(who);
if ((await gained(worker.address)) !== budget * 80n / 100n) fail(`worker gained ${await gained(worker.address)}`);
for (const v of drawn) {
  if ((await gained(v)) !== budget * 5n / 100n) fail(`validator gained ${await gained(v)}`);
}
const deposit = api.consts.trainingOrders.orderDeposit.toBigInt();
if ((await gained(client.address)) !== deposit) fail(`client got back ${await gained(client.address)}, expected the deposit`);
console.log(`order ${honest} settled: ${workersPaid.toBigInt() / DCEN} DCEN to the worker, ${validatorsPaid.toBigInt() / DCEN} to the validators, ${fee.toBigInt() / DCEN} fee`);

// Certificates: NFTs in the pallet's collection, with attributes.
const ids = settled.data.certificates.map((n) => n.toNumber());
if (ids.length !== 5) fail(`${ids.length} certificates, expected 5 (model, worker, 3 validators)`);
const collection = (await api.query.certificates.certificateCollection()).unwrap();
const modelHash = u8aToHex(honestWork.commitment.finalModel);
if (settled.data.modelHash.unwrap().toHex() !== modelHash) fail('settled a different model');
const item = async (n) => (await api.query.nfts.item(collection, n)).unwrap();
if ((await item(ids[0])).owner.toString() !== client.address) fail('model certificate not owned by the client');
if ((await item(ids[1])).owner.toString() !== worker.address) fail('worker certificate not owned by the worker');
const attribute = async (n, key) => {
  const value = await api.query.nfts.attribute(collection, n, { Pallet: null }, key);
  return new TextDecoder().decode(hexToU8a(value.unwrap()[0].toHex()));
};
if ((await attribute(ids[0], 'model_hash')) !== modelHash) fail('model_hash attribute');
if ((await attribute(ids[0], 'order')) !== `${honest}`) fail('order attribute');
if ((await attribute(ids[0], 'accuracy')) !== '0.937500') fail('accuracy attribute');
if ((await attribute(ids[2], 'kind')) !== 'validator') fail('kind attribute');
const byModel = (await api.call.certificatesApi.certificatesForModel(modelHash)).map((n) => n.toNumber());
if (JSON.stringify(byModel) !== JSON.stringify(ids)) fail(`certificates for the model: ${byModel}`);
const mine = (await api.call.certificatesApi.certificatesOf(client.address)).map((n) => n.toNumber());
if (!mine.includes(ids[0])) fail('the client does not hold the model certificate');
await expectError(send(api.tx.nfts.transfer(collection, ids[1], alice.address), worker), 'nfts.ItemLocked');
console.log(`certificates ${ids.join(', ')} minted in collection ${collection}`);

// --- 2. a worker that skipped training is caught and slashed ---
const cheatWork = run(false);
const cheat = await startOrder();
const checkers = await prove(cheat, cheatWork);
const heldBefore = (await api.query.computeStaking.participants(worker.address)).unwrap().bond.toBigInt();
const disputeEvents = await reportPhase(cheat, cheatWork, [...checkers, worker.address], 'RevealingReports');
if (!event(disputeEvents, 'proofOfTrain', 'DisputeOpened')) fail('no dispute opened');
const referees = await until('the referee draw', async () => {
  const r = await api.query.proofOfTrain.rounds(cheat);
  return r.isSome && r.unwrap().phase.isRefereeing ? r.unwrap().referees.map((v) => v.account.toString()) : null;
});
if (referees.length !== 3 || referees.some((r) => checkers.includes(r))) fail(`referees ${referees}`);
console.log(`dispute opened, referees drawn`);
const verdictEvents = await reportPhase(cheat, cheatWork, referees, 'RevealingVerdicts');
const faulted = verdictEvents.filter((e) => e.section === 'proofOfTrain' && e.method === 'Faulted');
if (faulted.length !== 1 || faulted[0].data.who.toString() !== worker.address) fail(`faulted: ${faulted.map((e) => e.data.who)}`);
if (faulted[0].data.fault.toString() !== 'WrongResult') fail(`fault ${faulted[0].data.fault}`);
const slashed = faulted[0].data.slashed.toBigInt();
if (slashed !== heldBefore / 10n) fail(`slashed ${slashed}, expected 10% of ${heldBefore}`);
const heldAfter = (await api.query.computeStaking.participants(worker.address)).unwrap().bond.toBigInt();
if (heldAfter !== heldBefore - slashed) fail(`bond ${heldAfter} after the slash`);
const failed = event(verdictEvents, 'trainingOrders', 'OrderFailed');
if (!failed) fail('no trainingOrders.OrderFailed event');
if ((await status(cheat)) !== 'Failed') fail(`order is ${await status(cheat)}`);
if (failed.data.validatorsPaid.toBigInt() !== budget * 15n / 100n) fail(`checkers paid ${failed.data.validatorsPaid}`);
if (failed.data.refunded.toBigInt() !== budget * 85n / 100n) fail(`client refunded ${failed.data.refunded}`);
if (event(verdictEvents, 'certificates', 'CertificateIssued')) fail('a rejected order was certified');
console.log(`order ${cheat}: the cheating worker lost ${slashed / DCEN} DCEN, the client got ${failed.data.refunded.toBigInt() / DCEN} DCEN back`);

console.log('proof check passed: honest order paid out exactly and certified; cheating worker caught and slashed');
clearTimeout(timer);
await api.disconnect();
