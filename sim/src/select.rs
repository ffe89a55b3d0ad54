//! The one rule every mapper uses to pick between two candidates, so that equal-cost mappings
//! resolve the same way in every dataflow and in both the pruned and the exhaustive search.

use crate::dataflow::Mapping;
use crate::Evaluation;

/// Order of two candidates: cost, then cycles, then resident ifmaps first, then larger `n`,
/// then the mapping tuple. Preferring resident ifmaps and larger `n` on ties is what lets
/// `rs::search` skip candidates that can only tie or lose.
pub(crate) fn better(c: f64, ev: &Evaluation, bc: f64, b: &Evaluation) -> bool {
    let key = |m: &Mapping| (!m.ifmap_resident(), std::cmp::Reverse(m.images()), *m);
    // Lazily: costs nearly always differ, and the keys dispatch on the mapping's dataflow.
    c.total_cmp(&bc)
        .then_with(|| ev.cycles.cmp(&b.cycles))
        .then_with(|| key(&ev.mapping).cmp(&key(&b.mapping)))
        .is_lt()
}

/// Keep `ev` (of cost `c`) if it beats the incumbent.
pub(crate) fn keep(best: &mut Option<(f64, Evaluation)>, c: f64, ev: Evaluation) {
    let replace = match best {
        None => true,
        Some((bc, b)) => better(c, &ev, *bc, b),
    };
    if replace {
        *best = Some((c, ev));
    }
}
