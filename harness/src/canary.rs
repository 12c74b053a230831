//! Canaries: a fresh synthetic value for every approved binding, every run. Each carries at least
//! 96 bits of randomness, is shaped like the real credential where a fake checks the shape, and,
//! where the real shape allows, contains characters that URL, JSON and HTML encodings change.

use std::sync::{Arc, Mutex};

use agency_core::binding::Binding;
use rand::distributions::{Alphanumeric, DistString, Uniform};
use rand::{Rng, RngCore};

use crate::scan::Canary;

fn base62(rng: &mut impl RngCore, len: usize) -> String {
    Alphanumeric.sample_string(rng, len)
}

fn digits(rng: &mut impl RngCore, len: usize) -> String {
    (0..len).map(|_| char::from(b'0' + rng.sample(Uniform::new(0u8, 10)))).collect()
}

fn hex(rng: &mut impl RngCore, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
}

fn url_safe(rng: &mut impl RngCore, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// A fresh canary for `binding`. Shapes follow the real credentials (PROVIDER-NOTES.md).
pub fn fresh(binding: Binding, rng: &mut impl RngCore) -> String {
    use Binding::*;
    match binding {
        // Asana PATs: `2/<user gid>/<app gid>:<32 hex>`; `/` and `:` change under URL encoding.
        AsanaAgentPat => format!("2/{}/{}:{}", digits(rng, 16), digits(rng, 16), hex(rng, 16)),
        // Asana chooses the X-Hook-Secret: 32 hex characters.
        AsanaWebhookSecret => hex(rng, 16),
        GoogleClientId => format!("{}-{}.apps.googleusercontent.com", digits(rng, 12), base62(rng, 32).to_lowercase()),
        GoogleClientSecret => format!("GOCSPX-{}", url_safe(rng, 28)),
        // Google refresh tokens start `1//0`: slashes that URL and JSON (`\/`) encodings change.
        GoogleRefreshToken => format!("1//0{}", url_safe(rng, 40)),
        GoogleAdsDeveloperToken => url_safe(rng, 22),
        GooglePagespeedApiKey => format!("AIzaCanary{}", url_safe(rng, 29)),
        BoxClientId | BoxClientSecret => base62(rng, 32).to_lowercase(),
        BoxEnterpriseId | HarvestAccountId | HarvestAgentUserId => digits(rng, 30),
        AccurankerApiKey | AhrefsApiKey | SemrushApiKey => hex(rng, 20),
        DataforseoLogin => format!("jessie+{}@agency.test", base62(rng, 20).to_lowercase()),
        // Passwords take any character: every one an encoding changes, and a non-ASCII letter.
        DataforseoPassword | InternalApiToken => format!("{}/+=:&\"<%é{}", base62(rng, 12), base62(rng, 12)),
        MetaAccessToken => format!("EAAC{}", base62(rng, 60)),
        CloudflareBrowserRunApiToken | CloudflareAiGatewayToken | HarvestAccessToken => url_safe(rng, 40),
    }
}

/// Every canary of one run: the seeded bindings, plus tokens the fakes mint while it runs.
#[derive(Clone, Default)]
pub struct CanaryRegistry {
    canaries: Arc<Mutex<Vec<Canary>>>,
}

impl CanaryRegistry {
    /// Seeds a fresh canary into every approved binding; returns the values by binding.
    pub fn seed_all(&self) -> Vec<(Binding, String)> {
        let mut rng = rand::rngs::OsRng;
        let seeded: Vec<(Binding, String)> = Binding::ALL.iter().map(|b| (*b, fresh(*b, &mut rng))).collect();
        for (binding, value) in &seeded {
            self.register(binding.name(), value);
        }
        seeded
    }

    /// Registers a value the moment it exists (the fakes call this for every minted token).
    pub fn register(&self, label: &str, value: &str) {
        self.canaries.lock().expect("canary registry poisoned").push(Canary::new(label, value));
    }

    pub fn all(&self) -> Vec<Canary> {
        self.canaries.lock().expect("canary registry poisoned").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canaries_are_fresh_and_carry_enough_randomness() {
        let mut rng = rand::rngs::OsRng;
        for binding in Binding::ALL {
            let a = fresh(*binding, &mut rng);
            let b = fresh(*binding, &mut rng);
            assert_ne!(a, b, "{binding}");
            assert!(a.len() >= 20, "{binding} canary is too short");
        }
        let pat = fresh(Binding::AsanaAgentPat, &mut rng);
        assert!(pat.starts_with("2/") && pat.contains(':'));
        let password = fresh(Binding::DataforseoPassword, &mut rng);
        for c in ['/', '+', '=', ':', '&', '"', '<', '%', 'é'] {
            assert!(password.contains(c));
        }
    }
}
