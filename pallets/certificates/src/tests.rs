//! Tests of certificate issue, attributes, queries and transfer rules.

use crate::{mock::*, *};
use decenter_primitives::validation::Metrics;
use frame_support::{assert_noop, assert_ok, traits::tokens::nonfungibles_v2::Inspect};

const CLIENT: AccountId = 1;
const WORKER: AccountId = 2;
const VALIDATORS: [AccountId; 2] = [3, 4];

fn record(order: u64, model: u8) -> ModelRecord {
	ModelRecord {
		order,
		model_hash: [model; 32],
		pot_root: [0xab; 32],
		metrics: Metrics { loss: 1_250_000_000, accuracy: 937_500 },
	}
}

fn attribute(collection: u32, item: u32, key: &str) -> String {
	let value =
		<Nfts as Inspect<AccountId>>::system_attribute(&collection, Some(&item), key.as_bytes())
			.expect("attribute set");
	String::from_utf8(value).unwrap()
}

#[test]
fn issue_mints_model_and_contributor_certificates_with_attributes() {
	new_test_ext().execute_with(|| {
		System::set_block_number(7);
		let ids = Certificates::issue(&record(42, 1), &CLIENT, &[WORKER], &VALIDATORS).unwrap();
		assert_eq!(ids, vec![0, 1, 2, 3]);
		let collection = CertificateCollection::<Test>::get().unwrap();
		assert_eq!(
			pallet_nfts::Pallet::<Test>::collection_owner(collection),
			Some(Certificates::account_id())
		);
		assert_eq!(pallet_nfts::Pallet::<Test>::owner(collection, 0), Some(CLIENT));
		assert_eq!(pallet_nfts::Pallet::<Test>::owner(collection, 1), Some(WORKER));
		assert_eq!(pallet_nfts::Pallet::<Test>::owner(collection, 3), Some(VALIDATORS[1]));

		assert_eq!(attribute(collection, 0, "kind"), "model");
		assert_eq!(attribute(collection, 1, "kind"), "worker");
		assert_eq!(attribute(collection, 2, "kind"), "validator");
		assert_eq!(attribute(collection, 0, "order"), "42");
		assert_eq!(attribute(collection, 0, "model_hash"), format!("0x{}", "01".repeat(32)));
		assert_eq!(attribute(collection, 0, "pot_root"), format!("0x{}", "ab".repeat(32)));
		assert_eq!(attribute(collection, 0, "loss"), "1.250000000");
		assert_eq!(attribute(collection, 0, "accuracy"), "0.937500");
		assert_eq!(attribute(collection, 0, "block"), "7");

		let stored = Issued::<Test>::get(0).unwrap();
		assert_eq!(stored.kind, CertificateKind::Model);
		assert_eq!(stored.record, record(42, 1));
		assert_eq!(stored.issued_at, 7);
		assert_eq!(Certificates::certificates_of(&CLIENT), vec![0]);
		assert_eq!(Certificates::certificates_for_model(&[1; 32]), vec![0, 1, 2, 3]);
		assert!(Certificates::certificates_for_model(&[2; 32]).is_empty());

		// Nobody paid a deposit: the collection and items were force-created without one.
		for who in 1..=4 {
			assert_eq!(Balances::free_balance(who), 1_000);
			assert_eq!(Balances::reserved_balance(who), 0);
		}
		System::assert_has_event(
			Event::CertificateIssued {
				id: 0,
				kind: CertificateKind::Model,
				order: 42,
				owner: CLIENT,
				model_hash: [1; 32],
			}
			.into(),
		);
	});
}

#[test]
fn one_collection_for_every_order() {
	new_test_ext().execute_with(|| {
		Certificates::issue(&record(1, 1), &CLIENT, &[WORKER], &[]).unwrap();
		let collection = CertificateCollection::<Test>::get().unwrap();
		let ids = Certificates::issue(&record(2, 9), &CLIENT, &[WORKER], &VALIDATORS).unwrap();
		assert_eq!(ids, vec![2, 3, 4, 5]);
		assert_eq!(CertificateCollection::<Test>::get(), Some(collection));
		let mut held = Certificates::certificates_of(&CLIENT);
		held.sort();
		assert_eq!(held, vec![0, 2]);
		assert_eq!(Certificates::certificates_for_model(&[9; 32]), vec![2, 3, 4, 5]);
	});
}

#[test]
fn model_certificates_transfer_and_contributor_certificates_do_not() {
	new_test_ext().execute_with(|| {
		Certificates::issue(&record(1, 1), &CLIENT, &[WORKER], &[]).unwrap();
		let collection = CertificateCollection::<Test>::get().unwrap();
		assert_ok!(Nfts::transfer(RuntimeOrigin::signed(CLIENT), collection, 0, 9));
		assert_eq!(Certificates::certificates_of(&9), vec![0]);
		assert!(Certificates::certificates_of(&CLIENT).is_empty());
		// The record keeps the original recipient.
		assert_eq!(Issued::<Test>::get(0).unwrap().recipient, CLIENT);
		assert_noop!(
			Nfts::transfer(RuntimeOrigin::signed(WORKER), collection, 1, 9),
			pallet_nfts::Error::<Test>::ItemLocked
		);
	});
}

#[test]
fn nobody_can_mint_into_the_certificates_collection() {
	new_test_ext().execute_with(|| {
		Certificates::issue(&record(1, 1), &CLIENT, &[], &[]).unwrap();
		let collection = CertificateCollection::<Test>::get().unwrap();
		assert!(Nfts::mint(RuntimeOrigin::signed(CLIENT), collection, 77, CLIENT, None).is_err());
		assert!(Nfts::create(RuntimeOrigin::signed(CLIENT), CLIENT, Default::default()).is_err());
	});
}

#[test]
fn a_failing_mint_leaves_no_certificate_behind() {
	new_test_ext().execute_with(|| {
		assert_ok!(Certificates::issue(&record(1, 1), &CLIENT, &[], &[]));
		let collection = CertificateCollection::<Test>::get().unwrap();
		let next = NextCertificateId::<Test>::get();
		// Something else already holds the id the worker's certificate would get.
		assert_ok!(<Nfts as frame_support::traits::tokens::nonfungibles_v2::Mutate<
			AccountId,
			pallet_nfts::ItemConfig,
		>>::mint_into(&collection, &(next + 1), &99, &Default::default(), true));
		assert!(Certificates::issue(&record(2, 2), &CLIENT, &[WORKER], &VALIDATORS).is_err());
		// The model certificate minted before the failure was rolled back with it.
		assert_eq!(pallet_nfts::Pallet::<Test>::owner(collection, next), None);
		assert_eq!(NextCertificateId::<Test>::get(), next);
		assert!(Issued::<Test>::get(next).is_none());
		assert!(Certificates::certificates_for_model(&[2; 32]).is_empty());
	});
}
