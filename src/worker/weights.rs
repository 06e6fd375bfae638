//! Weighted queues (`--queues high:6,normal:3,low:1`): which queues a fetch pass asks, and for
//! how many jobs each. Smooth weighted round-robin (the one nginx uses for upstreams): every
//! pick adds each candidate's weight to its credit, takes the one with the most credit and
//! charges it the candidates' total. Over any run of picks each queue gets its share within
//! one pick, interleaved rather than in blocks, and a queue of weight 1 is picked at least once
//! per (sum of weights) picks while it has work: no starvation. The credits live as long as
//! the worker, so the shares hold across passes even when each pass has one free slot.

use crate::error::{Error, Result};

/// Parses `--queues` entries: `NAME` or `NAME:WEIGHT` (weight 1-1000). Returns the names and,
/// when any entry has a weight, the weights (a plain entry then weighs 1); a plain list gives
/// no weights: strict order.
pub fn parse_queues(entries: &[String]) -> Result<(Vec<String>, Option<Vec<u32>>)> {
    let mut names = Vec::with_capacity(entries.len());
    let mut weights = Vec::with_capacity(entries.len());
    let mut weighted = false;
    for entry in entries {
        let (name, weight) = match entry.split_once(':') {
            None => (entry.as_str(), 1),
            Some((name, w)) => {
                weighted = true;
                let weight = w
                    .parse::<u32>()
                    .ok()
                    .filter(|w| (1..=1000).contains(w))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                        "--queues entry {entry:?}: the weight after `:` must be a whole number from 1 to 1000"
                    ))
                    })?;
                (name, weight)
            }
        };
        crate::job::validate_name("queue", name)?;
        if names.iter().any(|n| n == name) {
            return Err(Error::invalid(format!("--queues names queue {name} twice")));
        }
        names.push(name.to_string());
        weights.push(weight);
    }
    Ok((names, weighted.then_some(weights)))
}

#[derive(Debug)]
pub(super) struct Weighted {
    weights: Vec<i64>,
    credit: Vec<i64>,
}

impl Weighted {
    pub(super) fn new(weights: &[u32]) -> Weighted {
        Weighted {
            weights: weights.iter().map(|&w| w as i64).collect(),
            credit: vec![0; weights.len()],
        }
    }

    /// Shares `slots` free slots among the `candidates` (queue indexes), one pick at a time.
    /// Returns (queue, slots) in the order each queue was first picked.
    pub(super) fn allocate(&mut self, candidates: &[usize], slots: usize) -> Vec<(usize, usize)> {
        let total: i64 = candidates.iter().map(|&q| self.weights[q]).sum();
        let mut out: Vec<(usize, usize)> = Vec::new();
        for _ in 0..slots {
            for &q in candidates {
                self.credit[q] += self.weights[q];
            }
            // The most credit wins; a tie goes to the earlier queue in --queues.
            let Some(&best) = candidates
                .iter()
                .max_by_key(|&&q| (self.credit[q], std::cmp::Reverse(q)))
            else {
                break;
            };
            self.credit[best] -= total;
            match out.iter_mut().find(|(q, _)| *q == best) {
                Some((_, n)) => *n += 1,
                None => out.push((best, 1)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_weights_one_slot_at_a_time() {
        let mut w = Weighted::new(&[6, 3, 1]);
        let mut got = [0usize; 3];
        for _ in 0..100 {
            for (q, n) in w.allocate(&[0, 1, 2], 1) {
                got[q] += n;
            }
        }
        assert_eq!(got, [60, 30, 10]);
    }

    #[test]
    fn the_lightest_queue_is_picked_once_per_round_of_weights() {
        let mut w = Weighted::new(&[6, 3, 1]);
        let alloc = w.allocate(&[0, 1, 2], 10);
        assert_eq!(alloc.iter().find(|(q, _)| *q == 2).map(|x| x.1), Some(1));
        // Without the heaviest queue, the others share in proportion 3:1.
        let alloc = w.allocate(&[1, 2], 8);
        let n: Vec<usize> = [1, 2]
            .iter()
            .map(|q| alloc.iter().find(|(x, _)| x == q).map_or(0, |x| x.1))
            .collect();
        assert_eq!(n, [6, 2]);
    }

    #[test]
    fn parses_plain_and_weighted_lists() {
        let list = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            parse_queues(&list("high,normal")).unwrap(),
            (list("high,normal"), None)
        );
        assert_eq!(
            parse_queues(&list("high:6,normal")).unwrap(),
            (list("high,normal"), Some(vec![6, 1]))
        );
        for bad in ["high:0", "high:x", "high:", "a:b:1", "high:6,high:1", "bad*:2"] {
            assert!(parse_queues(&list(bad)).is_err(), "{bad}");
        }
    }
}
