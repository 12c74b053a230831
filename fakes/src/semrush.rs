//! Fake Semrush Analytics API (Standard API, PROVIDER-NOTES §5c).
//!
//! Endpoints: `report` (`GET /?type=<report>&key=…`, report types
//! `domain_ranks`, `domain_rank`, `domain_organic`) and `backlinks_overview`
//! (`GET /analytics/v1/?type=backlinks_overview&key=…&target=…`). The only
//! credential is the `key` query parameter (`AGENCY_OS_SEMRUSH_API_KEY`).
//!
//! Answers are `text/plain` semicolon-separated CSV with `\r\n` line breaks,
//! a header line of column names first (values quoted under
//! `export_escape=1`). Errors are plain text `ERROR <n> :: <MESSAGE>`, with
//! HTTP 200 as §5c records (a wrong or missing key too: `ERROR 120 :: WRONG
//! KEY - ID PAIR`); injected faults use their own status. A domain under the
//! reserved `.invalid` TLD has no data: `ERROR 50 :: NOTHING FOUND`.

use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{query_param, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const API_KEY_BINDING: &str = "AGENCY_OS_SEMRUSH_API_KEY";

const REPORT: &str = "report";
const BACKLINKS_OVERVIEW: &str = "backlinks_overview";

pub(crate) struct Semrush {
    auth: [CredentialCheck; 1],
}

impl Semrush {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        Ok(Semrush {
            auth: [CredentialCheck::new(
                CredentialLocation::QueryParam("key"),
                Accepts::binding(config, API_KEY_BINDING)?,
                semrush_error("120", "WRONG KEY - ID PAIR"),
            )],
        })
    }
}

/// A Semrush error: HTTP 200, the number in the body (§5c "status code is often HTTP 200").
fn semrush_error(code: &'static str, message: &str) -> ProviderError {
    ProviderError::new(200, message).code(code)
}

impl Provider for Semrush {
    const NAME: &'static str = "semrush";
    /// `https://api.semrush.com/`.
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Semrush;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: REPORT,
            method: "GET",
            path: "/",
        },
        Endpoint {
            name: BACKLINKS_OVERVIEW,
            method: "GET",
            path: "/analytics/v1/",
        },
    ];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        let report_type = query_param(request, "type").unwrap_or_default();
        let report = match (endpoint, report_type.as_str()) {
            (REPORT, "domain_ranks" | "domain_rank") => &DOMAIN_RANKS,
            (REPORT, "domain_organic") => &DOMAIN_ORGANIC,
            (BACKLINKS_OVERVIEW, "backlinks_overview") => &BACKLINKS,
            // [unverified] Semrush's number and wording for an unknown report type.
            _ => return Err(semrush_error("41", "WRONG TYPE")),
        };
        let target = query_param(request, report.target_param)
            .filter(|target| !target.is_empty())
            // [unverified] wording for a missing mandatory parameter.
            .ok_or_else(|| semrush_error("40", "MANDATORY PARAMETER NOT SET"))?;
        let names_a_domain = report.target_param == "domain" || report.target_param == "target";
        if names_a_domain && (target.ends_with(".invalid") || !target.contains('.')) {
            return Err(semrush_error("50", "NOTHING FOUND"));
        }
        let database = query_param(request, "database").unwrap_or_else(|| "us".into());
        let columns: Vec<&Column> = match query_param(request, "export_columns") {
            None => report.columns.iter().collect(),
            Some(codes) => codes
                .split(',')
                .map(|code| {
                    report
                        .columns
                        .iter()
                        .find(|column| column.code == code.trim())
                        // [unverified] Semrush's answer to an unknown column.
                        .ok_or_else(|| semrush_error("40", "WRONG EXPORT COLUMNS"))
                })
                .collect::<Result<_, _>>()?,
        };
        let offset = number_param(request, "display_offset")?.unwrap_or(0);
        let limit = number_param(request, "display_limit")?.unwrap_or(report.rows);
        let escape = query_param(request, "export_escape").as_deref() == Some("1");

        let rows: Vec<usize> = (0..report.rows).skip(offset).take(limit).collect();
        if rows.is_empty() {
            return Err(semrush_error("50", "NOTHING FOUND"));
        }
        let field = |text: String| {
            if escape {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        };
        let mut csv = columns
            .iter()
            .map(|column| field(column.name.to_owned()))
            .collect::<Vec<_>>()
            .join(";");
        for row in rows {
            csv.push_str("\r\n");
            let cells: Vec<String> = columns
                .iter()
                .map(|column| field((column.value)(&target, &database, row)))
                .collect();
            csv.push_str(&cells.join(";"));
        }
        Ok(Reply::raw(
            200,
            "text/plain; charset=utf-8",
            csv.into_bytes(),
        ))
    }
}

fn number_param(request: &Request, name: &str) -> Result<Option<usize>, ProviderError> {
    query_param(request, name)
        .map(|value| {
            value
                .parse()
                // [unverified] wording.
                .map_err(|_| semrush_error("40", "WRONG DISPLAY PARAMETER"))
        })
        .transpose()
}

/// One report type: which parameter names its target, its columns, how many rows it has.
struct Report {
    target_param: &'static str,
    rows: usize,
    columns: &'static [Column],
}

/// A column: its export code, the header name Semrush prints, and a stable value.
struct Column {
    code: &'static str,
    name: &'static str,
    value: fn(&str, &str, usize) -> String,
}

fn stable(target: &str, database: &str, row: usize, what: &str, modulus: u64) -> u64 {
    synthetic::stable_u64(&["semrush", target, database, &row.to_string(), what]) % modulus
}

const DOMAIN_RANKS: Report = Report {
    target_param: "domain",
    rows: 1,
    columns: &[
        Column {
            code: "Db",
            name: "Database",
            value: |_, db, _| db.to_owned(),
        },
        Column {
            code: "Dn",
            name: "Domain",
            value: |target, _, _| target.to_owned(),
        },
        Column {
            code: "Rk",
            name: "Rank",
            value: |t, db, r| (1 + stable(t, db, r, "Rk", 900_000)).to_string(),
        },
        Column {
            code: "Or",
            name: "Organic Keywords",
            value: |t, db, r| stable(t, db, r, "Or", 50_000).to_string(),
        },
        Column {
            code: "Ot",
            name: "Organic Traffic",
            value: |t, db, r| stable(t, db, r, "Ot", 200_000).to_string(),
        },
        Column {
            code: "Oc",
            name: "Organic Cost",
            value: |t, db, r| stable(t, db, r, "Oc", 90_000).to_string(),
        },
        Column {
            code: "Ad",
            name: "Adwords Keywords",
            value: |t, db, r| stable(t, db, r, "Ad", 500).to_string(),
        },
        Column {
            code: "At",
            name: "Adwords Traffic",
            value: |t, db, r| stable(t, db, r, "At", 5_000).to_string(),
        },
        Column {
            code: "Ac",
            name: "Adwords Cost",
            value: |t, db, r| stable(t, db, r, "Ac", 9_000).to_string(),
        },
        Column {
            code: "Sh",
            name: "PLA uniques",
            value: |t, db, r| stable(t, db, r, "Sh", 50).to_string(),
        },
        Column {
            code: "Sv",
            name: "PLA keywords",
            value: |t, db, r| stable(t, db, r, "Sv", 80).to_string(),
        },
    ],
};

const DOMAIN_ORGANIC: Report = Report {
    target_param: "domain",
    rows: 25,
    columns: &[
        Column {
            code: "Ph",
            name: "Keyword",
            value: |t, _, r| format!("{} keyword {}", t.split('.').next().unwrap_or(t), r + 1),
        },
        Column {
            code: "Po",
            name: "Position",
            value: |_, _, r| (r + 1).to_string(),
        },
        Column {
            code: "Pp",
            name: "Previous Position",
            value: |t, db, r| (1 + stable(t, db, r, "Pp", 30)).to_string(),
        },
        Column {
            code: "Pd",
            name: "Position Difference",
            value: |t, db, r| (stable(t, db, r, "Pd", 7) as i64 - 3).to_string(),
        },
        Column {
            code: "Nq",
            name: "Search Volume",
            value: |t, db, r| (10 * (1 + stable(t, db, r, "Nq", 2_000))).to_string(),
        },
        Column {
            code: "Cp",
            name: "CPC",
            value: |t, db, r| format!("{:.2}", stable(t, db, r, "Cp", 900) as f64 / 100.0),
        },
        Column {
            code: "Ur",
            name: "Url",
            value: |t, _, r| format!("https://{t}/page-{}", r + 1),
        },
        Column {
            code: "Tr",
            name: "Traffic (%)",
            value: |t, db, r| format!("{:.2}", stable(t, db, r, "Tr", 1_000) as f64 / 100.0),
        },
        Column {
            code: "Tc",
            name: "Traffic Cost (%)",
            value: |t, db, r| format!("{:.2}", stable(t, db, r, "Tc", 1_000) as f64 / 100.0),
        },
        Column {
            code: "Co",
            name: "Competition",
            value: |t, db, r| format!("{:.2}", stable(t, db, r, "Co", 100) as f64 / 100.0),
        },
        Column {
            code: "Nr",
            name: "Number of Results",
            value: |t, db, r| (1_000 * (1 + stable(t, db, r, "Nr", 90_000))).to_string(),
        },
        Column {
            code: "Td",
            name: "Trends",
            value: |t, db, r| {
                (0..12)
                    .map(|month| {
                        format!(
                            "{:.2}",
                            stable(t, db, r, &format!("Td{month}"), 101) as f64 / 100.0
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            },
        },
    ],
};

const BACKLINKS: Report = Report {
    target_param: "target",
    rows: 1,
    columns: &[
        Column {
            code: "ascore",
            name: "ascore",
            value: |t, db, r| stable(t, db, r, "ascore", 101).to_string(),
        },
        Column {
            code: "total",
            name: "total",
            value: |t, db, r| stable(t, db, r, "total", 900_000).to_string(),
        },
        Column {
            code: "domains_num",
            name: "domains_num",
            value: |t, db, r| stable(t, db, r, "domains", 9_000).to_string(),
        },
        Column {
            code: "urls_num",
            name: "urls_num",
            value: |t, db, r| stable(t, db, r, "urls", 90_000).to_string(),
        },
        Column {
            code: "follows_num",
            name: "follows_num",
            value: |t, db, r| stable(t, db, r, "follows", 600_000).to_string(),
        },
        Column {
            code: "nofollows_num",
            name: "nofollows_num",
            value: |t, db, r| stable(t, db, r, "nofollows", 300_000).to_string(),
        },
    ],
};
