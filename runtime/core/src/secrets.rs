//! Scoped secret access. A run reads a binding only through its [`SecretScope`], which allows
//! exactly the bindings of the current stage (intake: the webhook secret; eligibility: the Asana
//! PAT; the skill: its toolkits' bindings). Every read is recorded; a read outside the scope is
//! denied and recorded as a policy violation.

use std::collections::BTreeSet;

use crate::binding::Binding;

/// One read of a binding, as the trace records it (never the value).
#[derive(Clone, Debug)]
pub struct SecretRead {
    pub binding: Binding,
    pub step: &'static str,
    pub step_seq: i64,
    pub granted: bool,
    pub at: String,
}

/// The bindings the current stage may read.
#[derive(Clone, Debug, Default)]
pub struct SecretScope {
    allowed: BTreeSet<Binding>,
}

impl SecretScope {
    pub fn of(bindings: impl IntoIterator<Item = Binding>) -> SecretScope {
        SecretScope { allowed: bindings.into_iter().collect() }
    }

    pub fn allows(&self, binding: Binding) -> bool {
        self.allowed.contains(&binding)
    }
}
