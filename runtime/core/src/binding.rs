//! The approved secret binding names (seed page, "Secret Storage"). The product adds no others.

use std::fmt;

macro_rules! bindings {
    ($($variant:ident => $name:literal, $group:literal;)*) => {
        /// One approved secret binding. Its name is public; its value never is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Binding { $($variant),* }

        impl Binding {
            /// Every approved binding, in the seed page's order.
            pub const ALL: &'static [Binding] = &[$(Binding::$variant),*];

            /// The binding's name as declared to the platform (wrangler secret name).
            pub fn name(self) -> &'static str {
                match self { $(Binding::$variant => $name),* }
            }

            /// The seed page's binding group.
            pub fn group(self) -> &'static str {
                match self { $(Binding::$variant => $group),* }
            }

            pub fn from_name(name: &str) -> Option<Binding> {
                match name { $($name => Some(Binding::$variant),)* _ => None }
            }
        }
    };
}

bindings! {
    AsanaAgentPat => "AGENCY_OS_ASANA_AGENT_PAT", "Asana";
    AsanaWebhookSecret => "ASANA_WEBHOOK_SECRET", "Asana";
    BoxClientId => "AGENCY_OS_BOX_CLIENT_ID", "Box";
    BoxClientSecret => "AGENCY_OS_BOX_CLIENT_SECRET", "Box";
    BoxEnterpriseId => "AGENCY_OS_BOX_ENTERPRISE_ID", "Box";
    GoogleClientId => "AGENCY_OS_GOOGLE_CLIENT_ID", "Google";
    GoogleClientSecret => "AGENCY_OS_GOOGLE_CLIENT_SECRET", "Google";
    GoogleRefreshToken => "AGENCY_OS_GOOGLE_REFRESH_TOKEN", "Google";
    GoogleAdsDeveloperToken => "AGENCY_OS_GOOGLE_ADS_DEVELOPER_TOKEN", "Google";
    GooglePagespeedApiKey => "AGENCY_OS_GOOGLE_PAGESPEED_API_KEY", "Google";
    MetaAccessToken => "AGENCY_OS_META_ACCESS_TOKEN", "Meta";
    AccurankerApiKey => "AGENCY_OS_ACCURANKER_API_KEY", "SEO";
    DataforseoLogin => "AGENCY_OS_DATAFORSEO_LOGIN", "SEO";
    DataforseoPassword => "AGENCY_OS_DATAFORSEO_PASSWORD", "SEO";
    SemrushApiKey => "AGENCY_OS_SEMRUSH_API_KEY", "SEO";
    AhrefsApiKey => "AGENCY_OS_AHREFS_API_KEY", "SEO";
    CloudflareBrowserRunApiToken => "AGENCY_OS_CLOUDFLARE_BROWSER_RUN_API_TOKEN", "Cloudflare";
    CloudflareAiGatewayToken => "AGENCY_OS_CLOUDFLARE_AI_GATEWAY_TOKEN", "Cloudflare";
    InternalApiToken => "AGENCY_OS_INTERNAL_API_TOKEN", "Cloudflare";
    HarvestAccessToken => "AGENCY_OS_HARVEST_ACCESS_TOKEN", "Harvest";
    HarvestAccountId => "AGENCY_OS_HARVEST_ACCOUNT_ID", "Harvest";
    HarvestAgentUserId => "AGENCY_OS_HARVEST_AGENT_USER_ID", "Harvest";
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for b in Binding::ALL {
            assert_eq!(Binding::from_name(b.name()), Some(*b));
            assert!(seen.insert(b.name()));
        }
        assert_eq!(Binding::ALL.len(), 22);
    }
}
