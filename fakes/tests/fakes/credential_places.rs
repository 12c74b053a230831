//! `Fakes::credential_places`: where each fake takes each credential, spelled
//! as the harness's scanner locations.

use agency_fakes::{
    asana, box_api, dataforseo, google_ads, google_oauth, harvest, meta, semrush, CredentialPlace,
};

use crate::support;

fn places_of(places: &[CredentialPlace], fake: &str) -> Vec<(String, &'static str)> {
    places
        .iter()
        .filter(|place| place.fake == fake)
        .map(|place| (place.place.clone(), place.label))
        .collect()
}

fn expected(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    pairs
        .iter()
        .map(|(place, label)| ((*place).to_owned(), *label))
        .collect()
}

#[tokio::test]
async fn credential_places_list_where_each_fake_takes_each_credential() {
    let fakes = support::start(support::config()).await;
    let places = fakes.credential_places();

    assert_eq!(
        places_of(places, "asana"),
        expected(&[("header authorization", asana::AGENT_PAT_BINDING)])
    );
    assert_eq!(
        places_of(places, "google_oauth"),
        expected(&[
            ("form client_id", google_oauth::CLIENT_ID_BINDING),
            ("form client_secret", google_oauth::CLIENT_SECRET_BINDING),
            ("form refresh_token", google_oauth::REFRESH_TOKEN_BINDING),
        ])
    );
    assert_eq!(
        places_of(places, "ga4"),
        expected(&[(
            "header authorization",
            google_oauth::MINTED_ACCESS_TOKEN_LABEL
        )])
    );
    assert_eq!(
        places_of(places, "ai_gateway"),
        expected(&[(
            "header cf-aig-authorization",
            agency_fakes::ai_gateway::GATEWAY_TOKEN_BINDING
        )])
    );
    // Basic auth: the scanner sees the whole header, so both halves are allowed there.
    assert_eq!(
        places_of(places, "dataforseo"),
        expected(&[
            ("header authorization", dataforseo::LOGIN_BINDING),
            ("header authorization", dataforseo::PASSWORD_BINDING),
        ])
    );
    assert_eq!(
        places_of(places, "semrush"),
        expected(&[("query key", semrush::API_KEY_BINDING)])
    );
    assert_eq!(
        places_of(places, "google_ads"),
        expected(&[
            (
                "header authorization",
                google_oauth::MINTED_ACCESS_TOKEN_LABEL
            ),
            (
                "header developer-token",
                google_ads::DEVELOPER_TOKEN_BINDING
            ),
        ])
    );
    // Meta takes its token from the query or a Bearer header.
    assert_eq!(
        places_of(places, "meta"),
        expected(&[
            ("header authorization", meta::ACCESS_TOKEN_BINDING),
            ("query access_token", meta::ACCESS_TOKEN_BINDING),
        ])
    );
    assert!(places_of(places, "harvest").contains(&(
        "header harvest-account-id".to_owned(),
        harvest::ACCOUNT_ID_BINDING
    )));
    assert!(places_of(places, "box_api").contains(&(
        "header authorization".to_owned(),
        box_api::MINTED_ACCESS_TOKEN_LABEL
    )));
    // Nothing is allowed where no check reads it: the webhook secret is never taken.
    assert!(places
        .iter()
        .all(|place| place.label != asana::WEBHOOK_SECRET_BINDING));
}
