//! docs/configuration.md lists every declared setting, under its group's heading, in one table per group whose
//! rows this test derives from the declarations: a setting missing from the page, one the page lists that does
//! not exist, or a wrong default fails it, and the failure prints the tables the page should hold.

use std::collections::BTreeSet;

use super::declare::{Setting, env_name};
use super::list::{Raw, SETTINGS};

const PAGE: &str = include_str!("../../../docs/configuration.md");
const HEADER: &str = "| environment | `soku.toml` | default | meaning |\n|---|---|---|---|";

/// The default as the page shows it: the declared default, serialized, or the declaration's `shown` text.
fn shown_default(
    setting: &Setting,
    defaults: &serde_json::Map<String, serde_json::Value>,
) -> String {
    if let Some(shown) = setting.shown_default {
        return shown.to_string();
    }
    match defaults.get(setting.key) {
        Some(serde_json::Value::String(s)) => format!("`{s}`"),
        Some(serde_json::Value::Number(n)) => format!("`{n}`"),
        Some(serde_json::Value::Bool(b)) => format!("`{b}`"),
        other => panic!(
            "{}: the default is {other:?}; declare what the page shows (`shown \"…\"`)",
            setting.key
        ),
    }
}

fn row(setting: &Setting, defaults: &serde_json::Map<String, serde_json::Value>) -> String {
    let meaning: Vec<&str> = setting
        .doc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        !meaning.is_empty(),
        "{}: declare what it does (a doc comment)",
        setting.key
    );
    format!(
        "| `{}` | `{}` | {} | {} |",
        env_name(setting.key),
        setting.key,
        shown_default(setting, defaults),
        meaning.join(" ")
    )
}

fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = SETTINGS.iter().map(|s| s.group).collect();
    groups.dedup();
    groups
}

/// Each group's heading and table, as the page should hold them.
fn expected() -> Vec<(&'static str, String)> {
    let serde_json::Value::Object(defaults) = serde_json::to_value(Raw::default()).unwrap() else {
        panic!("the defaults serialize to a map");
    };
    let declared: BTreeSet<&str> = SETTINGS.iter().map(|s| s.key).collect();
    let serialized: BTreeSet<&str> = defaults.keys().map(String::as_str).collect();
    assert_eq!(
        declared, serialized,
        "the table and the struct hold the same settings"
    );
    groups()
        .into_iter()
        .map(|group| {
            let rows: Vec<String> = SETTINGS
                .iter()
                .filter(|s| s.group == group)
                .map(|s| row(s, &defaults))
                .collect();
            (group, format!("{HEADER}\n{}", rows.join("\n")))
        })
        .collect()
}

/// The first table after the heading `### {group}`, if the page has both.
fn documented_table(page: &str, group: &str) -> Option<String> {
    let heading = format!("### {group}");
    let mut lines = page.lines().skip_while(|l| l.trim() != heading).skip(1);
    let table: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.starts_with('#'))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    (!table.is_empty()).then(|| table.join("\n"))
}

/// Every settings row of the page: (environment variable, default cell).
fn documented_rows(page: &str) -> Vec<(String, String)> {
    page.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let default = cells.get(2).map(|c| c.to_string()).unwrap_or_default();
            (cells[0].trim_matches('`').to_string(), default)
        })
        .collect()
}

/// What `page` gets wrong about the `expected` tables.
fn problems(page: &str, expected: &[(&str, String)]) -> Vec<String> {
    let expected_rows: Vec<(String, String)> = expected
        .iter()
        .flat_map(|(_, table)| table.lines().skip(2))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    let documented = documented_rows(page);
    let mut problems = Vec::new();
    for (name, default) in &expected_rows {
        match documented.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("{name} is not documented")),
            Some((_, d)) if d != default => problems.push(format!(
                "{name}: the page says the default is {d}, it is {default}"
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &documented {
        if !expected_rows.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name} is documented but is no setting"));
        }
    }
    for (group, table) in expected {
        if documented_table(page, group).as_deref() != Some(table.as_str()) {
            problems.push(format!("the table under `### {group}` differs"));
        }
    }
    problems
}

#[test]
fn the_configuration_page_lists_every_setting() {
    let expected = expected();
    let problems = problems(PAGE, &expected);
    let tables: Vec<String> = expected
        .iter()
        .map(|(g, t)| format!("### {g}\n\n{t}\n"))
        .collect();
    assert!(
        problems.is_empty(),
        "docs/configuration.md disagrees with shared/src/config/list.rs:\n- {}\n\nIt should hold:\n\n{}",
        problems.join("\n- "),
        tables.join("\n")
    );
}

#[test]
fn the_check_finds_what_a_page_gets_wrong() {
    let expected = expected();
    let right: String = expected
        .iter()
        .map(|(g, t)| format!("### {g}\n\nSome prose.\n\n{t}\n\n"))
        .collect();
    assert_eq!(problems(&right, &expected), Vec::<String>::new());

    let lease_row = right
        .lines()
        .find(|l| l.starts_with("| `SOKU_LEASE_SECS` |"))
        .unwrap();
    let problems_of = |page: &str| problems(page, &expected);
    let missing = right.replace(&format!("{lease_row}\n"), "");
    assert!(problems_of(&missing).contains(&"SOKU_LEASE_SECS is not documented".to_string()));

    let bogus = "| `SOKU_LEASE_MS` | `lease_ms` | `1` | no |";
    let extra = right.replace(lease_row, &format!("{lease_row}\n{bogus}"));
    assert!(
        problems_of(&extra).contains(&"SOKU_LEASE_MS is documented but is no setting".to_string())
    );

    let default = lease_row.split(" | ").nth(2).unwrap();
    let wrong_default = right.replace(lease_row, &lease_row.replace(default, "`forever`"));
    let said = format!("SOKU_LEASE_SECS: the page says the default is `forever`, it is {default}");
    assert!(problems_of(&wrong_default).contains(&said));

    let other_meaning = format!("{} and more |", lease_row.trim_end_matches(" |"));
    let wrong_meaning = right.replace(lease_row, &other_meaning);
    assert_eq!(
        problems_of(&wrong_meaning),
        ["the table under `### Workers` differs"]
    );
}
