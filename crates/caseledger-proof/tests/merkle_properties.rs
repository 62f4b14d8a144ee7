//! Random trees: every generated proof equals the RFC's literal definition and verifies;
//! every altered proof fails; a resumed appender continues the same tree; proofs stay within
//! their read budget on a large tree.

use caseledger_proof::merkle::{
    leaf_hash, node_hash, reference, root_from_leaf_hashes, verify_consistency, verify_inclusion,
    Hash, MemoryTree, NodeStore, TreeAppender, VerifyError,
};
use proptest::prelude::*;

fn leaves(count: u64) -> Vec<Hash> {
    (0..count).map(|n| leaf_hash(&n.to_le_bytes())).collect()
}

fn tree(leaf_hashes: &[Hash], stored_level_min: u8) -> MemoryTree {
    let mut tree = MemoryTree::new(stored_level_min).unwrap();
    for leaf in leaf_hashes {
        tree.push_leaf_hash(*leaf);
    }
    tree
}

fn alter(proof: &mut [Hash], at: usize, bit: u8) {
    let i = at % proof.len();
    proof[i].0[(bit / 8) as usize % 32] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inclusion_proofs_match_the_rfc_and_verify(
        size in 1u64..300,
        level in 0u8..6,
        pick in any::<u64>(),
        at in any::<usize>(),
        bit in any::<u8>(),
    ) {
        let all = leaves(size);
        let tree = tree(&all, level);
        let tree_size = 1 + pick % size;
        let index = (pick / 7) % tree_size;
        let root = root_from_leaf_hashes(&all[..tree_size as usize]);
        prop_assert_eq!(tree.reader().root(tree_size).unwrap(), root);
        let proof = tree.reader().inclusion_proof(index, tree_size).unwrap();
        prop_assert_eq!(&proof, &reference::inclusion_proof(index as usize, &all[..tree_size as usize]));
        prop_assert!(verify_inclusion(index, tree_size, &all[index as usize], &proof, &root).is_ok());

        // Another leaf, another index, another size, or an altered hash all fail.
        let other_leaf = leaf_hash(b"not in the tree");
        prop_assert!(verify_inclusion(index, tree_size, &other_leaf, &proof, &root).is_err());
        if tree_size > 1 {
            let other_index = (index + 1) % tree_size;
            prop_assert!(verify_inclusion(other_index, tree_size, &all[index as usize], &proof, &root).is_err());
        }
        // (A proof checked against another tree size can still verify when both trees have
        // the same shape along the path; the signed checkpoint binds the size to the root.)
        if !proof.is_empty() {
            let mut altered = proof.clone();
            alter(&mut altered, at, bit);
            prop_assert!(verify_inclusion(index, tree_size, &all[index as usize], &altered, &root).is_err());
            let shorter = &proof[..proof.len() - 1];
            prop_assert!(verify_inclusion(index, tree_size, &all[index as usize], shorter, &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(other_leaf);
        prop_assert!(verify_inclusion(index, tree_size, &all[index as usize], &longer, &root).is_err());
    }

    #[test]
    fn consistency_proofs_match_the_rfc_and_verify(
        size in 1u64..300,
        level in 0u8..6,
        pick in any::<u64>(),
        at in any::<usize>(),
        bit in any::<u8>(),
    ) {
        let all = leaves(size);
        let tree = tree(&all, level);
        let new_size = 1 + pick % size;
        let old_size = 1 + (pick / 11) % new_size;
        let old_root = root_from_leaf_hashes(&all[..old_size as usize]);
        let new_root = root_from_leaf_hashes(&all[..new_size as usize]);
        let proof = tree.reader().consistency_proof(old_size, new_size).unwrap();
        prop_assert_eq!(&proof, &reference::consistency_proof(old_size as usize, &all[..new_size as usize]));
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof).is_ok());

        // A forked old tree (its last leaf replaced) is not a prefix.
        let mut forked = all[..old_size as usize].to_vec();
        forked[old_size as usize - 1] = leaf_hash(b"rewritten");
        let forked_root = root_from_leaf_hashes(&forked);
        prop_assert!(verify_consistency(old_size, new_size, &forked_root, &new_root, &proof).is_err());
        if !proof.is_empty() {
            let mut altered = proof.clone();
            alter(&mut altered, at, bit);
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &altered).is_err());
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof[1..]).is_err());
        }
        if old_size < new_size {
            prop_assert!(verify_consistency(new_size, old_size, &new_root, &old_root, &proof).is_err());
        }
    }

    #[test]
    fn a_resumed_appender_continues_the_same_tree(
        first in 0u64..200,
        second in 0u64..200,
        level in 0u8..6,
    ) {
        let all = leaves(first + second);
        let mut tree = tree(&all[..first as usize], level);
        let mut appender = TreeAppender::resume(tree.store(), first, level).unwrap();
        prop_assert_eq!(appender.root(), root_from_leaf_hashes(&all[..first as usize]));
        let nodes = appender.append_all(all[first as usize..].iter().copied());
        tree.store_mut().push_leaves(&all[first as usize..]);
        tree.store_mut().insert_nodes(&nodes);
        let whole = root_from_leaf_hashes(&all);
        prop_assert_eq!(appender.root(), whole);
        let reference_tree = self::tree(&all, level);
        prop_assert_eq!(tree.store().node_count(), reference_tree.store().node_count());
        let reader = caseledger_proof::merkle::TreeReader::new(tree.store(), level).unwrap();
        prop_assert_eq!(reader.root(first + second).unwrap(), whole);
    }
}

#[test]
fn empty_and_equal_trees() {
    let all = leaves(5);
    let tree = tree(&all, 2);
    let empty = caseledger_proof::merkle::empty_root();
    let root = tree.root();
    assert_eq!(tree.reader().root(0).unwrap(), empty);
    assert!(tree.reader().consistency_proof(0, 5).unwrap().is_empty());
    verify_consistency(0, 5, &empty, &root, &[]).unwrap();
    verify_consistency(5, 5, &root, &root, &[]).unwrap();
    assert!(verify_consistency(5, 5, &root, &empty, &[]).is_err());
    assert!(verify_consistency(5, 5, &root, &root, &[root]).is_err());
    assert!(verify_consistency(3, 5, &root, &root, &[]).is_err());
    assert_eq!(
        verify_inclusion(5, 5, &all[0], &[], &root),
        Err(VerifyError::IndexOutOfRange {
            leaf_index: 5,
            tree_size: 5
        })
    );
    assert!(tree.reader().inclusion_proof(5, 5).is_err());
    assert!(tree.reader().consistency_proof(4, 3).is_err());
}

#[test]
fn a_missing_or_corrupted_node_is_noticed() {
    let all = leaves(64);
    let mut tree = tree(&all, 4);
    let root = tree.root();
    let root_48 = root_from_leaf_hashes(&all[..48]);
    // Node (4, 2) covers leaves 32..48: the tree of 48 leaves and leaf 0's path in it use it.
    tree.store_mut()
        .overwrite_node(4, 2, node_hash(&all[0], &all[1]));
    assert_ne!(tree.reader().root(48).unwrap(), root_48);
    let proof = tree.reader().inclusion_proof(0, 48).unwrap();
    assert!(verify_inclusion(0, 48, &all[0], &proof, &root_48).is_err());
    // The full tree's root is read from node (6, 0), which is intact.
    assert_eq!(tree.reader().root(64).unwrap(), root);
    // Asking beyond the head: the node is not there.
    assert!(tree.reader().root(80).is_err());
}

/// The read budget behind "O(log n) reads": on a tree of 2^18 + 12345 leaves with stored
/// level 4, any proof reads at most 2 * 64 stored nodes and 2 blocks of 16 leaf hashes.
#[test]
fn proofs_stay_within_their_read_budget_on_a_large_tree() {
    let size = (1u64 << 18) + 12_345;
    let mut tree = MemoryTree::new(4).unwrap();
    for n in 0..size {
        tree.push_leaf_hash(leaf_hash(&n.to_le_bytes()));
    }
    // One node per 8 leaves, give or take the right edge.
    assert!(tree.store().node_count() as u64 <= size / 8 + 64);
    let root = tree.root();
    for (index, tree_size) in [
        (0, size),
        (size - 1, size),
        (200_001, size),
        (5, 250_001),
        (249_999, 250_000),
    ] {
        tree.store().reset_reads();
        let proof = tree.reader().inclusion_proof(index, tree_size).unwrap();
        let (nodes, leaf_reads) = tree.store().reads();
        assert!(nodes <= 128, "{nodes} node reads");
        assert!(leaf_reads <= 32, "{leaf_reads} leaf reads");
        let expected_root = if tree_size == size {
            root
        } else {
            tree.reader().root(tree_size).unwrap()
        };
        verify_inclusion(
            index,
            tree_size,
            &leaf_hash(&index.to_le_bytes()),
            &proof,
            &expected_root,
        )
        .unwrap();
    }
    tree.store().reset_reads();
    let proof = tree.reader().consistency_proof(250_001, size).unwrap();
    let (nodes, leaf_reads) = tree.store().reads();
    assert!(
        nodes <= 128 && leaf_reads <= 32,
        "{nodes} node reads, {leaf_reads} leaf reads"
    );
    let old_root = tree.reader().root(250_001).unwrap();
    verify_consistency(250_001, size, &old_root, &root, &proof).unwrap();
    let _ = tree.store().node(0, 0);
}
