//! Evidence a court can check without the ledger: the RFC 9162 Merkle tree over the log,
//! signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note` formats, and the case
//! evidence bundle with its verifier.
//!
//! This crate is pure: no storage, no async, no network. The ledger implements
//! [`merkle::NodeStore`] over its own storage and persists what [`merkle::TreeAppender`]
//! returns; the offline verifier uses [`bundle::verify_bundle`], [`note`] and
//! [`merkle::verify_consistency`].
//!
//! ```
//! use caseledger_proof::merkle::{leaf_hash, verify_inclusion, MemoryTree};
//! use caseledger_proof::checkpoint::Checkpoint;
//! use caseledger_proof::note::NoteSigner;
//!
//! let mut tree = MemoryTree::new(4).unwrap();
//! for n in 0..100u32 {
//!     tree.push(&n.to_be_bytes());
//! }
//! let proof = tree.reader().inclusion_proof(41, 100).unwrap();
//! verify_inclusion(41, 100, &leaf_hash(&41u32.to_be_bytes()), &proof, &tree.root()).unwrap();
//!
//! let signer = NoteSigner::generate("ledger.example/county").unwrap();
//! let checkpoint = Checkpoint::new("ledger.example/county", 100, tree.root()).unwrap();
//! let note = checkpoint.sign(&signer).unwrap();
//! let opened = Checkpoint::open(&note, &signer.verifier()).unwrap();
//! assert_eq!(opened, checkpoint);
//! ```
#![deny(missing_docs)]

pub mod bundle;
pub mod checkpoint;
pub mod consistency;
pub mod merkle;
pub mod note;
pub mod sample;
