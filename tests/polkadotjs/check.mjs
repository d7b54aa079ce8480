// polkadot.js check: connects to a DeCenter node, decodes its metadata, submits a
// balance transfer from Alice and waits until it is finalized.
// usage: node check.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const DCEN = 10n ** 12n;

function fail(message) {
  console.error(`polkadot.js check failed: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail('no finalized transfer within 120 s'), 120_000);

const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true });
const chain = (await api.rpc.system.chain()).toString();
const version = api.runtimeVersion;
const pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString());
console.log(`connected to "${chain}", runtime ${version.specName}/${version.specVersion}, metadata v${api.runtimeMetadata.version}`);
console.log(`pallets: ${pallets.join(', ')}`);

for (const wanted of ['System', 'Balances', 'Aura', 'Grandpa', 'Sudo', 'Nfts', 'TransactionPayment', 'ComputeStaking']) {
  if (!pallets.includes(wanted)) fail(`pallet ${wanted} missing from the metadata`);
}
if (version.specName.toString() !== 'decenter') fail(`unexpected spec name ${version.specName}`);
const props = await api.rpc.system.properties();
if (props.tokenSymbol.unwrap()[0].toString() !== 'DCEN') fail('token symbol is not DCEN');
if (props.tokenDecimals.unwrap()[0].toNumber() !== 12) fail('token decimals are not 12');

const keyring = new Keyring({ type: 'sr25519' });
const alice = keyring.addFromUri('//Alice');
const recipient = keyring.addFromUri('//DeCenterPolkadotJs');
const amount = 3n * DCEN;
const before = (await api.query.system.account(recipient.address)).data.free.toBigInt();

await new Promise((resolve, reject) => {
  api.tx.balances
    .transferKeepAlive(recipient.address, amount)
    .signAndSend(alice, ({ status, dispatchError, events }) => {
      if (dispatchError) {
        reject(new Error(`transfer failed: ${dispatchError.toString()}`));
      } else if (status.isFinalized) {
        const transferred = events.some(({ event }) => api.events.balances.Transfer.is(event));
        if (!transferred) reject(new Error('no Balances.Transfer event'));
        console.log(`transfer finalized in block ${status.asFinalized.toHex()}`);
        resolve();
      }
    })
    .catch(reject);
}).catch((e) => fail(e.message));

const finalizedHead = await api.rpc.chain.getFinalizedHead();
const apiAt = await api.at(finalizedHead);
const after = (await apiAt.query.system.account(recipient.address)).data.free.toBigInt();
if (after - before !== amount) fail(`recipient balance grew by ${after - before}, expected ${amount}`);

console.log(`polkadot.js check passed: ${amount / DCEN} DCEN moved and finalized`);
clearTimeout(timer);
await api.disconnect();
