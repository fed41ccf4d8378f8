//! The OpenAPI document served at /api/v1/openapi.json: well-formed, in step with the
//! route table (both ways), every `$ref` resolvable, and its main schemas naming exactly
//! the fields the server sends.

use std::collections::BTreeSet;

use parley_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, run};

/// The API's route table and the router that adds /healthz, read as source.
const ROUTES_SRC: &str = include_str!("../../../parley-web/src/api/mod.rs");
const ROUTER_SRC: &str = include_str!("../../../parley-web/src/lib.rs");

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const DOC_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run(Backend::Sqlite, Default::default(), case).await;
}

/// The document as the server serves it.
async fn fetch_doc(app: &TestApp) -> Value {
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.body.is_object(), "not a JSON object: {}", r.body);
    r.body
}

/// The byte index of the parenthesis closing the one just before `start`.
fn closing_paren(src: &str, start: usize) -> usize {
    let mut depth = 1usize;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in src[start..].char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return start + i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {start}");
}

/// Method-router calls in one `.route(...)` argument list: `get(`, `.post(`,
/// `axum::routing::delete(`... (a handler named like a method, `comments::delete`, is
/// not followed by `(` and so is not counted).
fn methods_in(call: &str) -> Vec<String> {
    let bytes = call.as_bytes();
    let mut found = Vec::new();
    for m in METHODS {
        let mut from = 0;
        while let Some(at) = call[from..].find(m).map(|i| from + i) {
            from = at + m.len();
            let before_ok =
                at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            let after_ok = bytes.get(from) == Some(&b'(');
            if before_ok && after_ok {
                found.push(m.to_owned());
            }
        }
    }
    found
}

/// Every (path, method) registered with `.route("PATH", ...)` in `src`, comments skipped.
fn routes_in(src: &str) -> BTreeSet<(String, String)> {
    let code: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut routes = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(".route(").map(|i| from + i) {
        let args_start = at + ".route(".len();
        let args_end = closing_paren(&code, args_start);
        let args = &code[args_start..args_end];
        let open = args.find('"').expect("a path literal");
        let close = open + 1 + args[open + 1..].find('"').expect("end of the path literal");
        let path = args[open + 1..close].to_owned();
        let methods = methods_in(&args[close + 1..]);
        assert!(!methods.is_empty(), "no method found for route {path}");
        for m in methods {
            routes.insert((path.clone(), m));
        }
        from = args_end;
    }
    routes
}

fn route_table() -> BTreeSet<(String, String)> {
    let mut routes = routes_in(ROUTES_SRC);
    routes.extend(routes_in(ROUTER_SRC));
    routes
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for key in item.as_object().expect("path item").keys() {
            if DOC_METHODS.contains(&key.as_str()) {
                out.insert((path.clone(), key.clone()));
            }
        }
    }
    out
}

/// Every `$ref` value anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref"
                    && let Value::String(r) = child
                {
                    out.push(r.clone());
                } else {
                    refs(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// The property names a schema of the document declares.
fn schema_props(doc: &Value, name: &str) -> BTreeSet<String> {
    keys(&doc["components"]["schemas"][name]["properties"])
}

#[test]
fn the_route_scanner_reads_the_table() {
    let routes = route_table();
    for (path, method) in [
        ("/healthz", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/counts", "post"),
        ("/api/v1/comments/{id}", "get"),
        ("/api/v1/comments/{id}", "patch"),
        ("/api/v1/comments/{id}", "delete"),
        ("/api/v1/comments/{id}/featured", "put"),
    ] {
        assert!(
            routes.contains(&(path.to_owned(), method.to_owned())),
            "{method} {path} not scanned from the source: {routes:?}"
        );
    }
    assert!(!routes.contains(&("/api/v1/stories/{id}".to_owned(), "delete".to_owned())));
    assert!(routes.len() >= 20, "only {} routes scanned", routes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_as_openapi_3() {
    on_sqlite(|app| async move {
        let doc = fetch_doc(&app).await;
        let version = doc["openapi"].as_str().expect("openapi version");
        assert!(version.starts_with("3."), "openapi is {version}");
        assert_eq!(doc["info"]["title"], "Parley API");
        assert_eq!(doc["info"]["version"], "1");
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearerAuth"]["type"], "http");
        assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
        assert_eq!(schemes["cookieAuth"]["type"], "apiKey");
        assert_eq!(schemes["cookieAuth"]["in"], "cookie");
        assert_eq!(schemes["cookieAuth"]["name"], "parley_session");
        assert_eq!(
            doc,
            serde_json::from_str::<Value>(parley_web::api::meta::OPENAPI).unwrap(),
            "served verbatim"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_route_table_agree() {
    on_sqlite(|app| async move {
        let doc = fetch_doc(&app).await;
        let table = route_table();
        let described = documented(&doc);
        let undocumented: Vec<_> = table.difference(&described).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the document: {undocumented:?}"
        );
        let unrouted: Vec<_> = described.difference(&table).collect();
        assert!(
            unrouted.is_empty(),
            "documented but not routed: {unrouted:?}"
        );
        let mut ids = BTreeSet::new();
        for (path, method) in &described {
            let op = &doc["paths"][path][method];
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} used twice");
            assert!(op["summary"].is_string(), "{method} {path}: no summary");
            let statuses = keys(&op["responses"]);
            assert!(
                statuses.iter().any(|s| s.starts_with('2')),
                "{method} {path}: no success response"
            );
            // Every `{param}` of the path is declared, on the path item or the operation.
            let declared: BTreeSet<String> = [&doc["paths"][path]["parameters"], &op["parameters"]]
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        declared.contains(name),
                        "{method} {path}: path parameter {name} not declared"
                    );
                }
            }
        }
    })
    .await;
}

/// `v` itself, or what its `$ref` points to.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("a local $ref"))
            .unwrap_or_else(|| panic!("unresolved $ref {r}")),
        None => v,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ref_resolves_to_a_component() {
    on_sqlite(|app| async move {
        let doc = fetch_doc(&app).await;
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 20, "only {} $refs", found.len());
        for r in &found {
            let pointer = r
                .strip_prefix("#/components/")
                .unwrap_or_else(|| panic!("$ref {r} does not point into components"));
            assert!(
                doc["components"].pointer(&format!("/{pointer}")).is_some(),
                "$ref {r} resolves to nothing"
            );
        }
        for name in [
            "User", "Author", "Comment", "Thread", "Story", "Picture", "Page", "Error",
        ] {
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "schema {name} is missing"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_schemas_name_the_fields_the_server_sends() {
    on_sqlite(|app| async move {
        let doc = fetch_doc(&app).await;
        let staff = app.member("Oona Staff", Role::Staff).await;
        let reader = app.reader("Pia Reader").await;
        let story = app.story(&staff, "schema-check").await;
        app.call(
            reqwest::Method::PATCH,
            &format!("/api/v1/stories/{story}"),
            Some(&staff.token),
            Some(json!({"picture_url": "https://courier.example/p.jpg"})),
        )
        .await;
        let top = app.comment(&reader, story, None, "First").await;
        for n in 0..7 {
            app.comment(&staff, story, Some(top), &format!("Reply {n}"))
                .await;
        }

        let me = app.get("/api/v1/me", Some(&reader.token)).await;
        assert_eq!(keys(&me.body["user"]), schema_props(&doc, "User"));

        let s = app.get(&format!("/api/v1/stories/{story}"), None).await;
        assert_eq!(keys(&s.body["story"]), schema_props(&doc, "Story"));
        assert_eq!(
            keys(&s.body["story"]["picture"]),
            schema_props(&doc, "Picture")
        );

        let page = app
            .get(&format!("/api/v1/stories/{story}/comments"), None)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.headers.contains_key("etag"));
        assert_eq!(keys(&page.body), schema_props(&doc, "Page"));
        let thread = &page.body["comments"][0];
        let comment_props = schema_props(&doc, "Comment");
        let thread_extra = keys(&doc["components"]["schemas"]["Thread"]["allOf"][1]["properties"]);
        let expected: BTreeSet<String> = comment_props.union(&thread_extra).cloned().collect();
        assert!(thread["more_replies"].is_string(), "{thread}");
        assert_eq!(keys(thread), expected);
        assert_eq!(keys(&thread["author"]), schema_props(&doc, "Author"));
        let reply = &thread["replies"][0];
        assert_eq!(keys(&reply["in_reply_to"]), schema_props(&doc, "InReplyTo"));

        let one = app.get(&format!("/api/v1/comments/{top}"), None).await;
        assert_eq!(keys(&one.body["comment"]), comment_props);

        let bad = app.get("/api/v1/stories/999999", None).await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert_eq!(keys(&bad.body), schema_props(&doc, "Error"));
        let inner =
            keys(&doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]);
        assert!(keys(&bad.body["error"]).is_subset(&inner));
    })
    .await;
}
