//! The GA4 traffic report as HTML and JSON, and the Asana comment that points to it. Every text
//! here is built from figures and fixed wording, escaped, and sanitized by the caller.

use crate::providers::ga4::{ChannelFigures, TrafficComparison, METRICS};

pub struct ReportInput<'a> {
    pub run_id: &'a str,
    pub task_gid: &'a str,
    pub task_name: &'a str,
    pub skill: &'a str,
    pub comparison: &'a TrafficComparison,
    pub summary: &'a str,
    pub caveats: &'a [String],
    pub generated_at: &'a str,
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percentage change, or `None` when there is no previous figure to compare with.
pub fn change_percent(current: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| (current - previous) as f64 * 100.0 / previous as f64)
}

fn change_text(current: i64, previous: i64) -> String {
    change_percent(current, previous).map_or_else(|| "n/a".to_owned(), |p| format!("{p:+.1}%"))
}

/// The figures, one line per channel, that the model's prompt is built from — nothing else.
pub fn figures_for_prompt(comparison: &TrafficComparison) -> String {
    let [current, previous] = &comparison.periods;
    let mut lines = vec![format!(
        "Current period {}..{}; previous period {}..{}. Metrics: {}.",
        current.start_date,
        current.end_date,
        previous.start_date,
        previous.end_date,
        METRICS.join(", ")
    )];
    let line = |name: &str, f: &ChannelFigures| {
        let cells: Vec<String> = (0..METRICS.len())
            .map(|i| format!("{} {} vs {} ({})", METRICS[i], f.current[i], f.previous[i], change_text(f.current[i], f.previous[i])))
            .collect();
        format!("{name}: {}", cells.join("; "))
    };
    lines.extend(comparison.channels.iter().map(|(name, f)| line(name, f)));
    lines.push(line("All channels", &comparison.totals()));
    lines.join("\n")
}

pub fn caveats(comparison: &TrafficComparison) -> Vec<String> {
    let mut caveats = vec![format!(
        "Figures are GA4's own ({} rows in {} page(s)), grouped by the default channel grouping; the summary was written by a model from these figures only.",
        comparison.rows, comparison.pages
    )];
    let new_channels: Vec<&str> =
        comparison.channels.iter().filter(|(_, f)| f.previous[0] == 0).map(|(name, _)| name.as_str()).collect();
    if !new_channels.is_empty() {
        caveats.push(format!("No sessions in the previous period for: {}; no change is shown for them.", new_channels.join(", ")));
    }
    if comparison.channels.is_empty() {
        caveats.push("GA4 returned no rows for either period.".to_owned());
    }
    caveats
}

pub fn html(input: &ReportInput<'_>) -> String {
    let c = input.comparison;
    let [current, previous] = &c.periods;
    let header: String = METRICS.iter().map(|m| format!("<th>{m}</th><th>{m} before</th><th>change</th>")).collect();
    let row = |name: &str, f: &ChannelFigures| {
        let cells: String = (0..METRICS.len())
            .map(|i| {
                format!("<td>{}</td><td>{}</td><td>{}</td>", f.current[i], f.previous[i], change_text(f.current[i], f.previous[i]))
            })
            .collect();
        format!("<tr><th scope=\"row\">{}</th>{cells}</tr>\n", escape_html(name))
    };
    let rows: String = c.channels.iter().map(|(name, f)| row(name, f)).collect::<String>() + &row("All channels", &c.totals());
    let caveats: String = input.caveats.iter().map(|cv| format!("<li>{}</li>", escape_html(cv))).collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>GA4 traffic report: {title}</title></head>\n<body>\n\
         <h1>GA4 traffic report</h1>\n<p>Task {task_gid} ({title}), GA4 property {property}. Current period {cs} to {ce}, compared with {ps} to {pe}.</p>\n\
         <h2>Summary</h2>\n<p>{summary}</p>\n<h2>Figures</h2>\n<table>\n<tr><th>channel</th>{header}</tr>\n{rows}</table>\n\
         <h2>Caveats</h2>\n<ul>{caveats}</ul>\n<footer>Run {run_id}, skill {skill}, generated {at}.</footer>\n</body>\n</html>\n",
        title = escape_html(input.task_name),
        task_gid = escape_html(input.task_gid),
        property = escape_html(&c.property),
        cs = current.start_date,
        ce = current.end_date,
        ps = previous.start_date,
        pe = previous.end_date,
        summary = escape_html(input.summary),
        run_id = input.run_id,
        skill = input.skill,
        at = input.generated_at,
    )
}

pub fn json(input: &ReportInput<'_>) -> String {
    let channels: Vec<serde_json::Value> = input
        .comparison
        .channels
        .iter()
        .map(|(name, f)| serde_json::json!({ "channel": name, "current": f.current, "previous": f.previous }))
        .collect();
    let value = serde_json::json!({
        "run_id": input.run_id,
        "skill": input.skill,
        "task_gid": input.task_gid,
        "property": input.comparison.property,
        "periods": input.comparison.periods,
        "metrics": METRICS,
        "channels": channels,
        "totals": input.comparison.totals(),
        "summary": input.summary,
        "caveats": input.caveats,
        "generated_at": input.generated_at,
    });
    serde_json::to_string_pretty(&value).expect("a JSON value always serializes") + "\n"
}

/// The Asana comment (`html_text`): evidence summary, caveats and a link, in Asana's rich text.
pub fn comment(headline: &str, summary: &str, caveats: &[String], link: &str) -> String {
    let caveats: String = caveats.iter().map(|c| format!("<li>{}</li>", escape_html(c))).collect();
    let summary = if summary.is_empty() { String::new() } else { format!("\n{}", escape_html(summary)) };
    format!(
        "<body><strong>{}</strong>{summary}\n<ul>{caveats}</ul>\n<a href=\"{}\">Run details and full report</a></body>",
        escape_html(headline),
        escape_html(link),
    )
}
