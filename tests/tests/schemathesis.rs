//! Fuzzes the live service from its own OpenAPI document with schemathesis (installed by the
//! test tooling into a virtual environment under `target/`): with a fixed seed and a bounded
//! number of examples, no request may get a 5xx, and every response must match the document.

use billing_blackbox::{Service, Store};

#[tokio::test]
async fn the_live_api_matches_its_openapi_document_and_never_answers_5xx() {
    let mut st = billing_testservers::python::schemathesis().expect("schemathesis installs");
    let service = Service::start(Store::Sqlite);
    let acme = service.create_business("Acme Cleaning");
    // Some real objects, so that generated ids sometimes hit something.
    service
        .seed_booking(&acme, "ada", "pm_card_visa", "b-1", "100.00")
        .await;
    let schema = format!("{}/openapi.json", service.base_url);
    let base_url = service.base_url.clone();
    let auth = format!("Authorization: Bearer {}", acme.api_key);
    let report = tempfile::tempdir().expect("temp dir");
    let output = tokio::task::spawn_blocking(move || {
        st.args(["run", &schema, "--url", &base_url, "-H", &auth])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", "10", "--seed", "20261125", "--generation-deterministic", "--workers", "2"])
            .args(["--exclude-path", "/v1/webhooks/stripe"])
            // The hosted pages answer HTML and have their own tests (and a per-address rate
            // limit that a fuzzer from one address soon reaches).
            .args(["--exclude-path-regex", "^/(pay|cards)/"])
            .args(["--request-timeout", "30", "--max-time", "90"])
            .arg("--report-dir")
            .arg(report.path())
            // Its cache folder goes beside the report, not into the source tree.
            .current_dir(report.path())
            .env("NO_COLOR", "1")
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .output()
            .expect("schemathesis runs")
    })
    .await
    .expect("schemathesis finished");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Kept in the test's output: which operations ran, and how long they took.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("passed") || stdout.contains("PASSED"),
        "schemathesis ran no operation:\n{stdout}"
    );
}
