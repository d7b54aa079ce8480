// polkadot.js check of training orders: a client creates an order with escrow, sees it assigned
// to a registered worker, cancels it and gets the refund (not the order fee); a validation
// window shorter than the proof game is refused; an order nobody can serve is expired by the
// node's off-chain worker, with nobody calling, and refunded.
// usage: node orders.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const DCEN = 10n ** 12n;

function fail(message) {
  console.error(`orders check failed: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail('not done within 420 s'), 420_000);
const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true });

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

function find(events, section, method) {
  const event = events.find((e) => e.section === section && e.method === method);
  if (!event) fail(`no ${section}.${method} event`);
  return event;
}

async function held(address, reason) {
  const holds = await api.query.balances.holds(address);
  const hold = holds.find((h) => h.id.isTrainingOrders && h.id.asTrainingOrders[`is${reason}`]);
  return hold ? hold.amount.toBigInt() : 0n;
}

async function status(id) {
  return (await api.query.trainingOrders.orders(id)).unwrap().status.toString();
}

const dataset = (records) => ({
  artifact: { root: `0x${'07'.repeat(32)}`, size: 4096, location: 'http://127.0.0.1:8700/digits.csv' },
  records,
  features: 64,
  label: { Class: { classes: 10 } },
});
const spec = {
  training: {
    model: { inputs: 64, hidden: [32], outputs: 10, activation: 'Relu', loss: 'SoftmaxCrossEntropy' },
    optimizer: 'Sgd',
    learningRate: 100_000_000,
    schedule: 'Constant',
    batchSize: 32,
    steps: 500,
    seed: 1,
    checkpointInterval: 50,
    initialization: 'Seeded',
  },
  dataset: dataset(1_500),
  validation: dataset(297),
  workload: { Replicas: 1 },
};

const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
const worker = keyring.addFromUri('//DeCenterOrdersWorker');
const client = keyring.addFromUri('//DeCenterOrdersClient');
await send(api.tx.balances.transferKeepAlive(worker.address, 10_000n * DCEN), alice);
await send(api.tx.balances.transferKeepAlive(client.address, 1_000n * DCEN), alice);

const capacity = 2_000;
const bond = (await api.call.computeStakingApi.requiredBond(capacity)).toBigInt();
await send(api.tx.computeStaking.registerWorker(capacity, 'CPU', 'http://127.0.0.1:8700', bond), worker);
console.log(`worker registered with ${capacity} GFLOP/s`);

const now = async () => (await api.rpc.chain.getHeader()).number.toNumber();
const orderFee = api.consts.trainingOrders.orderFee.toBigInt();
// The runtime API quotes every bound before anyone signs. The shortest validation window is the
// time the proof-of-train game may take: its fixed windows and waits (a constant) and the
// checkers' work on this spec.
const quoted = await api.call.trainingOrdersApi.quote(spec, 100);
if (!quoted.isOk) fail(`no quote: ${quoted}`);
const quote = quoted.asOk;
const minValidation = quote.minValidationWindow.toNumber();
const fixedGame = api.consts.trainingOrders.minValidationWindow.toNumber();
if (quote.fee.toBigInt() !== orderFee || minValidation <= fixedGame) fail(`quote ${quote}`);
// An explicit start block a few blocks ahead, so that the training window is exactly `trainingIn`.
const create = async (needed, trainingIn, budget) => {
  const start = (await now()) + 3;
  return send(api.tx.trainingOrders.createOrder(spec, needed, start, start + trainingIn, start + trainingIn + minValidation, budget), client);
};

try {
  const head = await now();
  await send(api.tx.trainingOrders.createOrder(spec, 100, null, head + 100, head + 100 + minValidation - 1, 50n * DCEN), client);
  fail('a validation window shorter than the proof game was accepted');
} catch (e) {
  if (e.message !== 'trainingOrders.ValidationWindowTooShort') fail(`expected ValidationWindowTooShort, got ${e.message}`);
}

// One block short of the quoted training window is refused.
const minTraining = quote.minTrainingWindow.toNumber();
try {
  const start = (await now()) + 5;
  await send(api.tx.trainingOrders.createOrder(spec, 100, start, start + minTraining - 1, start + minTraining - 1 + minValidation, 50n * DCEN), client);
  fail('a training window shorter than the quote was accepted');
} catch (e) {
  if (e.message !== 'trainingOrders.TrainingWindowTooShort') fail(`expected TrainingWindowTooShort, got ${e.message}`);
}
console.log(`quote: fee ${quote.fee}, training window at least ${minTraining} blocks, validation at least ${minValidation}`);

try {
  await create(100, 100, DCEN);
  fail('an order below the minimum budget was accepted');
} catch (e) {
  if (e.message !== 'trainingOrders.BudgetTooSmall') fail(`expected BudgetTooSmall, got ${e.message}`);
}

// 1. Create, see it assigned, cancel, get the refund.
const budget = 50n * DCEN;
const freeBefore = (await api.query.system.account(client.address)).data.free.toBigInt();
let events = await create(100, 100, budget);
const created = find(events, 'trainingOrders', 'OrderCreated');
const id = created.data.order.toNumber();
if (created.data.fee.toBigInt() !== orderFee) fail(`fee ${created.data.fee}, expected ${orderFee}`);
if ((await held(client.address, 'Escrow')) !== budget) fail('budget not held in escrow');
const deposit = api.consts.trainingOrders.orderDeposit.toBigInt();
if ((await held(client.address, 'Deposit')) !== deposit) fail('deposit not held');
console.log(`order ${id} created, ${budget / DCEN} DCEN in escrow`);

for (let tries = 0; (await status(id)) !== 'Assigned'; tries++) {
  if (tries > 20) fail(`order ${id} was not assigned (status ${await status(id)})`);
  await new Promise((r) => setTimeout(r, 1_500));
}
const assigned = (await api.query.trainingOrders.orders(id)).unwrap().workers.map((s) => s.account.toString());
if (assigned.length !== 1 || assigned[0] !== worker.address) fail(`assigned to ${assigned}, expected the worker`);
const assignments = (await api.call.trainingOrdersApi.assignmentsOf(worker.address)).map((n) => n.toNumber());
if (!assignments.includes(id)) fail('the runtime API does not list the assignment');
if (!(await api.call.trainingOrdersApi.canFetch(id, worker.address)).isTrue) fail('the worker may not fetch');
if ((await api.call.trainingOrdersApi.canFetch(id, bob.address)).isTrue) fail('an outsider may fetch');
if ((await api.query.computeStaking.participants(worker.address)).unwrap().lockedCapacity.toNumber() !== 100) fail('capacity not locked');
console.log(`order ${id} assigned to the worker`);

events = await send(api.tx.trainingOrders.cancelOrder(id), client);
const cancelled = find(events, 'trainingOrders', 'OrderCancelled');
if (cancelled.data.refunded.toBigInt() !== budget) fail(`refunded ${cancelled.data.refunded}, expected the budget`);
if ((await status(id)) !== 'Cancelled') fail('not cancelled');
if ((await held(client.address, 'Escrow')) !== 0n || (await held(client.address, 'Deposit')) !== 0n) fail('funds still held');
const freeAfter = (await api.query.system.account(client.address)).data.free.toBigInt();
// The order fee is not refunded; beyond it the client lost only transaction fees.
if (freeBefore - freeAfter < orderFee) fail('the order fee was refunded');
if (freeBefore - freeAfter - orderFee > DCEN / 10n) fail(`client lost ${freeBefore - freeAfter} beyond fees`);
if ((await api.query.computeStaking.participants(worker.address)).unwrap().lockedCapacity.toNumber() !== 0) fail('capacity not released');
console.log(`order ${id} cancelled and refunded`);

// 2. An order nobody can serve expires once its last possible start passed (the training
// deadline less the shortest window the work needs), and nobody has to call anything: the
// node's off-chain worker submits `expireLapsed`. Before that, `expireOrder` is refused; after
// it, there is nothing left for Bob to expire.
const unservedWindow = (await api.call.trainingOrdersApi.quote(spec, 1_000_000)).asOk.minTrainingWindow.toNumber();
events = await create(1_000_000, unservedWindow + 20, budget);
const unserved = find(events, 'trainingOrders', 'OrderCreated').data.order.toNumber();
const deadline = (await api.query.trainingOrders.orders(unserved)).unwrap().timetable.trainingDeadline.toNumber();
try {
  await send(api.tx.trainingOrders.expireOrder(unserved), bob);
  fail('expired before the deadline');
} catch (e) {
  if (e.message !== 'trainingOrders.NotExpired') fail(`expected NotExpired, got ${e.message}`);
}
const heldDeposit = await held(client.address, 'Deposit');
for (let tries = 0; (await status(unserved)) !== 'Expired'; tries++) {
  if (tries > 150) fail(`order ${unserved} was not expired by the off-chain worker (status ${await status(unserved)})`);
  await new Promise((r) => setTimeout(r, 1_500));
}
// It lapsed once no start could leave the work its window before the deadline.
const head = await now();
if (head <= deadline - unservedWindow) fail(`expired at block ${head}, while it could still be served`);
if ((await held(client.address, 'Escrow')) !== 0n) fail('escrow still held after expiry');
if (heldDeposit - (await held(client.address, 'Deposit')) !== deposit) fail('the deposit was not returned whole');
try {
  await send(api.tx.trainingOrders.expireOrder(unserved), bob);
  fail('an expired order was expired again');
} catch (e) {
  if (e.message !== 'trainingOrders.WrongState') fail(`expected WrongState, got ${e.message}`);
}
console.log(`order ${unserved} expired by the off-chain worker and refunded, deposit returned whole`);

console.log('orders check passed: created, assigned, cancelled, expired, refunded');
clearTimeout(timer);
await api.disconnect();
