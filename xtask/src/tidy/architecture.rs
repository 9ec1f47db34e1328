//! The directions in which the workspace's crates may depend on each other (normal and build
//! dependencies; dev-dependencies are free, since tests may use anything).
//!
//! Two tables say it all: [`CRATES`] gives every workspace crate its [`Kind`], and [`RULES`]
//! says what a crate of each kind may depend on. A crate missing from [`CRATES`] fails tidy, so
//! that a new crate is placed in the architecture on purpose.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a workspace crate is, for the dependency rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `billing-core`: the model, the rules, the use cases and their ports.
    Core,
    /// Shared by several adapters (`billing-sql`: the SQL stores' row formats and codecs;
    /// `billing-stripe-rules`: Stripe's amount rules, for the Stripe adapter and the sandbox).
    Support,
    /// Implements the core's ports on a technology (a store, a gateway, mail, HTTP).
    Adapter,
    /// Only for tests: fakes, test servers, black-box tests.
    TestSupport,
    /// `billingd`: picks the adapters and wires them together.
    Binary,
    /// The project's own tasks (`xtask`).
    Tool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Core => "core",
            Kind::Support => "support",
            Kind::Adapter => "adapter",
            Kind::TestSupport => "test support",
            Kind::Binary => "binary",
            Kind::Tool => "tool",
        }
    }
}

/// Every workspace crate and its kind. A new crate is added here.
const CRATES: &[(&str, Kind)] = &[
    ("billing-core", Kind::Core),
    ("billing-sql", Kind::Support),
    ("billing-stripe-rules", Kind::Support),
    ("billing-sqlite", Kind::Adapter),
    ("billing-postgres", Kind::Adapter),
    ("billing-sandbox", Kind::Adapter),
    ("billing-stripe", Kind::Adapter),
    ("billing-mail", Kind::Adapter),
    ("billing-twilio", Kind::Adapter),
    ("billing-http", Kind::Adapter),
    ("billing-console", Kind::Adapter),
    ("billing-stripe-fake", Kind::TestSupport),
    ("billing-testservers", Kind::TestSupport),
    ("billing-blackbox", Kind::TestSupport),
    ("billingd", Kind::Binary),
    ("xtask", Kind::Tool),
];

/// What a crate of one kind may depend on among the workspace crates.
#[derive(Debug)]
pub(super) struct Rule {
    kind: Kind,
    may_depend_on: &'static [Kind],
    /// Whether it may depend on more than one adapter.
    several_adapters: bool,
    /// The rule in words, for the message when it is broken.
    says: &'static str,
}

/// One rule per kind. Nothing may depend on the binary, and no core, support, adapter or binary
/// crate depends on test support, so that test code never ships.
const RULES: &[Rule] = &[
    Rule {
        kind: Kind::Core,
        may_depend_on: &[],
        several_adapters: false,
        says: "the core depends on no workspace crate",
    },
    Rule {
        kind: Kind::Support,
        may_depend_on: &[Kind::Core],
        several_adapters: false,
        says: "a support crate depends only on the core",
    },
    Rule {
        kind: Kind::Adapter,
        may_depend_on: &[Kind::Core, Kind::Support],
        several_adapters: false,
        says: "an adapter depends only on the core and support crates, never on another adapter",
    },
    Rule {
        kind: Kind::TestSupport,
        may_depend_on: &[Kind::Core, Kind::Support, Kind::Adapter, Kind::TestSupport],
        several_adapters: false,
        says: "test support may use the core, support crates, one adapter and other test support, never the binary",
    },
    Rule {
        kind: Kind::Binary,
        may_depend_on: &[Kind::Core, Kind::Support, Kind::Adapter],
        several_adapters: true,
        says: "the binary depends on the core, support crates and adapters, never on test support",
    },
    Rule {
        kind: Kind::Tool,
        may_depend_on: &[],
        several_adapters: false,
        says: "xtask drives cargo and depends on no workspace crate",
    },
];

/// A workspace crate and its normal and build dependencies on other workspace crates.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Package {
    name: String,
    /// Its folder, relative to the workspace root, to find it by.
    dir: String,
    /// `(dependency, is a build dependency)`.
    deps: Vec<(String, bool)>,
}

/// Checks `cargo metadata --no-deps`. Returns the problems and how many crates were checked.
pub(super) fn check(metadata: &Value) -> Result<(Vec<String>, usize), String> {
    let packages = packages(metadata)?;
    Ok((check_packages(&packages, CRATES, RULES), packages.len()))
}

/// The workspace crates of `cargo metadata --no-deps`, with their dependencies on each other.
fn packages(metadata: &Value) -> Result<Vec<Package>, String> {
    let unreadable = || "cannot read `cargo metadata`: no packages".to_owned();
    let root = metadata["workspace_root"].as_str().unwrap_or_default();
    let list = metadata["packages"].as_array().ok_or_else(unreadable)?;
    let names: Vec<&str> = list.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut packages = Vec::new();
    for package in list {
        let name = package["name"].as_str().ok_or_else(unreadable)?;
        let manifest = package["manifest_path"].as_str().unwrap_or_default();
        let dir = manifest
            .strip_prefix(root)
            .unwrap_or(manifest)
            .trim_start_matches('/')
            .trim_end_matches("Cargo.toml")
            .trim_end_matches('/');
        let mut deps = Vec::new();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            // `kind` is null for a normal dependency, "dev" or "build" otherwise.
            let kind = dep["kind"].as_str();
            if names.contains(&dep_name) && kind != Some("dev") {
                deps.push((dep_name.to_owned(), kind == Some("build")));
            }
        }
        deps.sort();
        deps.dedup();
        packages.push(Package {
            name: name.to_owned(),
            dir: if dir.is_empty() {
                ".".into()
            } else {
                dir.into()
            },
            deps,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

/// Every broken rule, one line each.
fn check_packages(packages: &[Package], crates: &[(&str, Kind)], rules: &[Rule]) -> Vec<String> {
    let kinds: BTreeMap<&str, Kind> = crates.iter().copied().collect();
    let mut problems = Vec::new();
    for package in packages {
        let Some(&kind) = kinds.get(package.name.as_str()) else {
            problems.push(format!(
                "{} ({}) has no kind: add it to CRATES in xtask/src/tidy/architecture.rs (core, support, adapter, test support, binary or tool)",
                package.name, package.dir
            ));
            continue;
        };
        let Some(rule) = rules.iter().find(|r| r.kind == kind) else {
            problems.push(format!(
                "no rule for the {} kind in xtask/src/tidy/architecture.rs",
                kind.name()
            ));
            continue;
        };
        let mut adapters = Vec::new();
        for (dep, build) in &package.deps {
            // An unclassified dependency is reported as a crate of its own.
            let Some(&dep_kind) = kinds.get(dep.as_str()) else {
                continue;
            };
            if dep_kind == Kind::Adapter {
                adapters.push(dep.as_str());
            }
            if !rule.may_depend_on.contains(&dep_kind) {
                problems.push(format!(
                    "{} ({}) {} {dep} ({}): {}",
                    package.name,
                    kind.name(),
                    if *build {
                        "build-depends on"
                    } else {
                        "depends on"
                    },
                    dep_kind.name(),
                    rule.says
                ));
            }
        }
        adapters.sort_unstable();
        adapters.dedup();
        if adapters.len() > 1 && !rule.several_adapters {
            problems.push(format!(
                "{} ({}) depends on {} adapters ({}): only the binary wires several adapters together",
                package.name,
                kind.name(),
                adapters.len(),
                adapters.join(", ")
            ));
        }
    }
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for (name, _) in crates {
        if !names.contains(name) {
            problems.push(format!(
                "{name} is in CRATES but not in the workspace: remove it from xtask/src/tidy/architecture.rs"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn package(name: &str, deps: &[&str]) -> Package {
        Package {
            name: name.into(),
            dir: format!("crates/{name}"),
            deps: deps.iter().map(|d| ((*d).to_owned(), false)).collect(),
        }
    }

    fn check(packages: &[Package]) -> Vec<String> {
        check_packages(packages, CRATES, RULES)
    }

    /// The workspace as it is meant to be, with every crate classified.
    fn workspace() -> Vec<Package> {
        vec![
            package("billing-core", &[]),
            package("billing-sql", &["billing-core"]),
            package("billing-sqlite", &["billing-core", "billing-sql"]),
            package("billing-postgres", &["billing-core", "billing-sql"]),
            package("billing-stripe-rules", &[]),
            package("billing-sandbox", &["billing-core", "billing-stripe-rules"]),
            package("billing-stripe", &["billing-core", "billing-stripe-rules"]),
            package("billing-mail", &["billing-core"]),
            package("billing-twilio", &["billing-core"]),
            package("billing-http", &["billing-core"]),
            package("billing-console", &["billing-core"]),
            package("billing-stripe-fake", &[]),
            package("billing-testservers", &[]),
            package("billing-blackbox", &["billing-testservers"]),
            package(
                "billingd",
                &[
                    "billing-core",
                    "billing-http",
                    "billing-console",
                    "billing-mail",
                    "billing-sandbox",
                    "billing-stripe",
                    "billing-sqlite",
                    "billing-postgres",
                ],
            ),
            package("xtask", &[]),
        ]
    }

    fn with(name: &str, deps: &[&str]) -> Vec<Package> {
        let mut packages = workspace();
        for p in &mut packages {
            if p.name == name {
                *p = package(name, deps);
            }
        }
        packages
    }

    #[test]
    fn every_kind_has_one_rule() {
        for kind in [
            Kind::Core,
            Kind::Support,
            Kind::Adapter,
            Kind::TestSupport,
            Kind::Binary,
            Kind::Tool,
        ] {
            assert_eq!(
                RULES.iter().filter(|r| r.kind == kind).count(),
                1,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_intended_workspace_passes() {
        assert_eq!(check(&workspace()), Vec::<String>::new());
    }

    #[test]
    fn an_adapter_on_another_adapter_fails() {
        let problems = check(&with("billing-http", &["billing-core", "billing-sandbox"]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "billing-http (adapter) depends on billing-sandbox (adapter): an adapter"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn the_core_and_the_support_crate_stay_below() {
        assert_eq!(check(&with("billing-core", &["billing-sql"])).len(), 1);
        assert_eq!(
            check(&with("billing-sql", &["billing-core", "billing-sandbox"])).len(),
            1
        );
    }

    #[test]
    fn nothing_depends_on_the_binary_and_test_support_never_ships() {
        assert_eq!(
            check(&with("billing-blackbox", &["billingd"])).len(),
            1,
            "test support on the binary"
        );
        assert_eq!(
            check(&with(
                "billing-stripe",
                &["billing-core", "billing-stripe-fake"]
            ))
            .len(),
            1,
            "an adapter on test support"
        );
        let mut packages = workspace();
        packages
            .iter_mut()
            .filter(|p| p.name == "billingd")
            .for_each(|p| p.deps.push(("billing-testservers".into(), false)));
        assert_eq!(check(&packages).len(), 1, "the binary on test support");
    }

    #[test]
    fn only_the_binary_uses_several_adapters() {
        let problems = check(&with(
            "billing-testservers",
            &["billing-sqlite", "billing-postgres"],
        ));
        assert_eq!(
            problems,
            vec![
                "billing-testservers (test support) depends on 2 adapters (billing-postgres, billing-sqlite): only the binary wires several adapters together"
            ]
        );
        assert_eq!(
            check(&with("billing-testservers", &["billing-sqlite"])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unclassified_and_stale_crates_fail() {
        let mut packages = workspace();
        packages.push(package("billing-reports", &["billing-core"]));
        packages.retain(|p| p.name != "xtask");
        let problems = check(&packages);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("billing-reports (crates/billing-reports) has no kind"));
        assert!(problems[1].starts_with("xtask is in CRATES but not in the workspace"));
    }

    #[test]
    fn metadata_is_read_without_dev_dependencies() {
        let metadata = json!({
            "workspace_root": "/w",
            "packages": [
                {"name": "billing-core", "manifest_path": "/w/crates/billing-core/Cargo.toml",
                 "dependencies": [
                    {"name": "chrono", "kind": null},
                    {"name": "billing-core", "kind": "dev"}
                 ]},
                {"name": "billingd", "manifest_path": "/w/crates/billingd/Cargo.toml",
                 "dependencies": [
                    {"name": "billing-core", "kind": null},
                    {"name": "billing-core", "kind": "build"},
                    {"name": "billing-stripe-fake", "kind": "dev"}
                 ]}
            ]
        });
        let packages = packages(&metadata).expect("read");
        assert_eq!(
            packages,
            vec![
                Package {
                    name: "billing-core".into(),
                    dir: "crates/billing-core".into(),
                    deps: vec![],
                },
                Package {
                    name: "billingd".into(),
                    dir: "crates/billingd".into(),
                    deps: vec![
                        ("billing-core".into(), false),
                        ("billing-core".into(), true)
                    ],
                },
            ]
        );
    }
}
