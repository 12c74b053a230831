//! No false alarms: canaries carry at least 96 bits of randomness, so a large corpus of
//! realistic noise — HTML reports, JSON payloads, logs, base64 blobs (some folded), hashes,
//! UUIDs, gzip bodies — and other credentials of the very same shapes (sharing prefixes such as
//! `GOCSPX-`, `1//0`, `EAAC`, domains such as `.apps.googleusercontent.com`), raw and encoded,
//! must produce no finding at all. The corpus is generated here.

#[path = "scan_support/mod.rs"]
mod scan_support;

use agency_core::redact::variants::variants;
use agency_harness::scan::Scanner;

const CORPUS: usize = 6 << 20;

#[test]
fn realistic_noise_and_look_alike_credentials_raise_no_alarm() {
    let mut rng = scan_support::rng(20_250_501);
    let scanner = Scanner::new(scan_support::canaries(&mut rng, 30));
    let decoys = scan_support::canaries(&mut rng, 30);
    let decoy_forms: Vec<Vec<u8>> = decoys.iter().flat_map(|decoy| variants(decoy.expose_value().as_bytes())).map(|v| v.bytes).collect();
    let noise = scan_support::noise(&mut rng, CORPUS);
    let corpus = scan_support::embed(&mut rng, &noise, &decoy_forms);

    let hits = scanner.scan(&corpus);
    assert!(hits.is_empty(), "{} false alarms, e.g. {:?}", hits.len(), &hits[..hits.len().min(5)]);
}

#[test]
fn the_same_noise_still_shows_every_real_leak() {
    let mut rng = scan_support::rng(7);
    let canaries = scan_support::canaries(&mut rng, 30);
    let scanner = Scanner::new(canaries.clone());
    let leaks: Vec<Vec<u8>> = canaries.iter().map(|c| c.expose_value().as_bytes().to_vec()).collect();
    let noise = scan_support::noise(&mut rng, 1 << 20);
    let corpus = scan_support::embed(&mut rng, &noise, &leaks);

    let hits = scanner.scan(&corpus);
    for canary in &canaries {
        assert_eq!(hits.iter().filter(|hit| hit.binding == canary.binding() && hit.encoding == "raw").count(), 1, "{canary}");
    }
    assert_eq!(hits.len(), canaries.len());
}
