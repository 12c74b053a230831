//! Skills and the toolkits they declare. A skill's secret scope is exactly the union of its
//! toolkits' bindings; nothing else can be read while it runs.

pub mod ga4_traffic_report;

use crate::binding::Binding;
use crate::context::RunContext;
use crate::platform::StoreError;
use crate::providers::asana::Task;
use crate::secrets::SecretScope;
use crate::trace::RunStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toolkit {
    Asana,
    GoogleAnalytics,
    AiGateway,
}

impl Toolkit {
    pub fn bindings(self) -> &'static [Binding] {
        match self {
            Toolkit::Asana => &[Binding::AsanaAgentPat],
            Toolkit::GoogleAnalytics => &[Binding::GoogleClientId, Binding::GoogleClientSecret, Binding::GoogleRefreshToken],
            Toolkit::AiGateway => &[Binding::CloudflareAiGatewayToken],
        }
    }
}

/// How a failed step's error reaches the caveat comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReporting {
    /// The sanitized, compact error text (the only mode in release builds).
    Sanitized,
    /// Mutant: the provider's raw error body, unsanitized — proves the scanner catches it.
    #[cfg(feature = "mutants")]
    RawProviderBodyMutant,
}

pub struct Skill {
    pub name: &'static str,
    pub toolkits: &'static [Toolkit],
    pub error_reporting: ErrorReporting,
}

impl Skill {
    pub fn scope(&self) -> SecretScope {
        SecretScope::of(self.toolkits.iter().flat_map(|t| t.bindings().iter().copied()))
    }

    pub async fn run(&self, ctx: &RunContext<'_>, task: &Task) -> Result<(RunStatus, String), StoreError> {
        ga4_traffic_report::run(ctx, self, task).await
    }
}

const GA4_TOOLKITS: &[Toolkit] = &[Toolkit::Asana, Toolkit::GoogleAnalytics, Toolkit::AiGateway];

const SKILLS: &[Skill] = &[
    Skill { name: "ga4-traffic-report", toolkits: GA4_TOOLKITS, error_reporting: ErrorReporting::Sanitized },
    #[cfg(feature = "mutants")]
    Skill {
        name: "ga4-traffic-report-leaky-mutant",
        toolkits: GA4_TOOLKITS,
        error_reporting: ErrorReporting::RawProviderBodyMutant,
    },
];

pub fn find(name: &str) -> Option<&'static Skill> {
    SKILLS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ga4_scope_is_exactly_its_toolkits() {
        let skill = find("ga4-traffic-report").unwrap();
        let scope = skill.scope();
        for binding in Binding::ALL {
            let expected = matches!(
                binding,
                Binding::AsanaAgentPat
                    | Binding::GoogleClientId
                    | Binding::GoogleClientSecret
                    | Binding::GoogleRefreshToken
                    | Binding::CloudflareAiGatewayToken
            );
            assert_eq!(scope.allows(*binding), expected, "{binding}");
        }
    }

    #[cfg(not(feature = "mutants"))]
    #[test]
    fn release_builds_have_no_mutants() {
        assert!(find("ga4-traffic-report-leaky-mutant").is_none());
    }
}
