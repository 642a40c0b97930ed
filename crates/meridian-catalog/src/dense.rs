//! Filling a persistent ordered map so that its nodes end up full.
//!
//! `imbl`'s B+tree nodes have a fixed capacity (16 entries) and split in half when full, so
//! keys inserted in order leave every node half empty (and random order about a third
//! empty). Inserting every other key of a sorted run first and the rest after fills each node
//! exactly: the first pass leaves half-full nodes spanning the whole run, and each key of the
//! second pass lands in a node with room. A catalog of a million objects keeps several
//! maps of millions of entries, so this is hundreds of megabytes.

/// The items of a sorted sequence in the order that fills a B+tree densely: those at even
/// positions, then those at odd positions.
pub(crate) fn fill_order<T>(sorted: Vec<T>) -> impl Iterator<Item = T> {
    let mut even = Vec::with_capacity(sorted.len().div_ceil(2));
    let mut odd = Vec::with_capacity(sorted.len() / 2);
    for (i, t) in sorted.into_iter().enumerate() {
        if i % 2 == 0 {
            even.push(t);
        } else {
            odd.push(t);
        }
    }
    even.into_iter().chain(odd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evens_come_before_odds_and_nothing_is_lost() {
        let order: Vec<u32> = fill_order((0..7).collect()).collect();
        assert_eq!(order, [0, 2, 4, 6, 1, 3, 5]);
        assert_eq!(fill_order(Vec::<u32>::new()).count(), 0);
    }
}
