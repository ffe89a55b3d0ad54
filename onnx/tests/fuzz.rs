//! Random byte mutations of a valid model: the importer returns `Ok` or a typed error, and never
//! panics. 300 cases by default; `PROPTEST_CASES=N` runs more (a long session is a manual step).

mod common;

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = *b,
        Mutation::Flip(i, b) if !bytes.is_empty() => bytes[i % len] ^= 1 << b,
        Mutation::Insert(i, v) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, v.iter().copied());
        }
        Mutation::Delete(i, n) if !bytes.is_empty() => {
            let at = i % len;
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        _ => {}
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_models_never_panic(muts in prop::collection::vec(mutation(), 1..8)) {
        let mut bytes = common::sample().bytes();
        for m in &muts {
            apply(&mut bytes, m);
        }
        let result = ember_onnx::import_bytes(&bytes, "fuzz", None);
        // The importer's own output always satisfies the trace rules.
        prop_assert!(!matches!(result, Err(ember_onnx::OnnxError::Invalid { .. })), "{:?}", result.err());
        if let Ok(imp) = result {
            // Whatever imports is a valid trace that reads back unchanged.
            let text = ember_onnx::write_trace(&imp.network);
            let back = ember_sim::Network::parse(std::path::Path::new("fuzz.toml"), &text);
            prop_assert!(back.is_ok());
            // A layer is capped at 2^52 MACs per image, so a batch of 64 cannot wrap around.
            for l in &imp.network.layers {
                prop_assert_eq!(u128::from(l.macs(64)), 64 * u128::from(l.macs(1)));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ember_onnx::import_bytes(&bytes, "random", None);
    }
}
