use super::*;

fn params(pairs: &[(&str, &str)]) -> RouteParams {
    RouteParams::from_pairs(pairs.iter().copied())
}

#[test]
fn templates_match_as_the_host_matches_them() {
    for (template, path, expected, reason) in [
        ("orders", "/api/orders", Some(vec![]), "exact path"),
        (
            "orders",
            "/API/Orders",
            Some(vec![]),
            "literals ignore ASCII case",
        ),
        ("orders", "/api/orders/", Some(vec![]), "one trailing slash"),
        ("orders", "/api/orders//", None, "two trailing slashes"),
        (
            "orders",
            "/api/orders/1",
            None,
            "a longer path is another route",
        ),
        ("orders", "/orders", None, "the prefix is required"),
        (
            "orders",
            "/api/ordersx",
            None,
            "no prefix matching of a segment",
        ),
        ("orders", "/api//orders", None, "an empty segment"),
        (
            "orders",
            "/api/%6Frders",
            Some(vec![]),
            "segments are percent-decoded",
        ),
        (
            "orders/{id}",
            "/api/orders/42",
            Some(vec![("id", "42")]),
            "a parameter",
        ),
        ("orders/{id}", "/api/orders", None, "a required parameter"),
        (
            "orders/{id}",
            "/api/orders/a%20b",
            Some(vec![("id", "a b")]),
            "decoded value",
        ),
        (
            "orders/{id}",
            "/api/orders/42/items",
            None,
            "too many segments",
        ),
        (
            "orders/{id}/items/{item}",
            "/api/ORDERS/7/Items/x",
            Some(vec![("id", "7"), ("item", "x")]),
            "two parameters",
        ),
        (
            "orders/{id?}",
            "/api/orders",
            Some(vec![]),
            "an optional parameter left out",
        ),
        (
            "orders/{id?}",
            "/api/orders/5",
            Some(vec![("id", "5")]),
            "an optional parameter given",
        ),
        (
            "files/{*path}",
            "/api/files/a/b%2Fc/d",
            Some(vec![("path", "a/b%2Fc/d")]),
            "catch-all (an encoded slash stays encoded, as in the host)",
        ),
        (
            "files/{*path}",
            "/api/files",
            Some(vec![]),
            "an empty catch-all",
        ),
        ("", "/api", Some(vec![]), "the prefix itself"),
    ] {
        let expected = expected.map(|pairs| params(&pairs));
        assert_eq!(
            Route::new(template).matches("api", path),
            expected,
            "{reason}: {template} vs {path}"
        );
    }
}

#[test]
fn an_empty_prefix_serves_routes_at_the_root() {
    let route = Route::get("orders/{id}");
    assert_eq!(route.matches("", "/orders/1"), Some(params(&[("id", "1")])));
    assert_eq!(route.matches("", "/api/orders/1"), None);
    assert_eq!(function_path("", "health"), "/health");
}

#[test]
fn a_nested_prefix_is_matched_segment_by_segment() {
    let route = Route::get("orders");
    assert!(route.matches("v1/api", "/V1/api/orders").is_some());
    assert!(route.matches("v1/api", "/v1/orders").is_none());
}

#[test]
fn parameter_names_are_looked_up_ignoring_case() {
    let found = Route::new("orders/{OrderId}").matches("api", "/api/orders/9");
    assert_eq!(found.as_ref().and_then(|p| p.get("orderid")), Some("9"));
}

#[test]
fn templates_the_host_would_read_differently_are_refused_by_name() {
    for (template, needle, reason) in [
        ("orders/{id:int}", "constraints", "an inline constraint"),
        ("orders/{id=1}", "constraints", "a default"),
        (
            "orders-{id}",
            "whole segment",
            "a parameter inside a segment",
        ),
        ("orders/{id", "whole segment", "an unclosed brace"),
        ("orders/{id}/{ID}", "twice", "a repeated name"),
        (
            "files/{*path}/x",
            "last segment",
            "a catch-all in the middle",
        ),
        (
            "orders/{id?}/x",
            "last segment",
            "an optional parameter in the middle",
        ),
        ("orders//x", "empty segment", "two slashes"),
        ("orders/{1d}", "a name is", "a name starting with a digit"),
        ("admin/orders", "admin or runtime", "the host's own routes"),
        ("Runtime", "admin or runtime", "in any case"),
        ("a%20b", "unencoded", "an encoded literal"),
    ] {
        let error = Route::new(template)
            .check()
            .expect_err(&format!("{reason}: {template}"));
        assert!(error.to_string().contains(needle), "{reason}: {error}");
        assert!(
            error.to_string().contains(template),
            "names the template: {error}"
        );
    }
    let long = "a/".repeat(MAX_TEMPLATE_BYTES);
    assert!(Route::new(&long).check().is_err(), "a bounded template");
    assert!(Route::new("orders/{id}").check().is_ok());
    let trace = Route::new("orders").method(Method::TRACE);
    assert!(trace.check().is_err(), "a method function.json cannot name");
}

#[test]
fn an_invalid_route_matches_nothing() {
    assert_eq!(
        Route::new("orders/{id:int}").matches("api", "/api/orders/1"),
        None
    );
}

#[test]
fn paths_are_rebuilt_from_parameters() {
    let route = Route::post("orders/{id}/notes/{note?}");
    assert_eq!(
        route
            .path_with("api", &params(&[("id", "a/b c")]))
            .as_deref(),
        Some("/api/orders/a%2Fb%20c/notes")
    );
    assert_eq!(
        route.path_with("api", &params(&[])),
        None,
        "a required one is missing"
    );
    let files = Route::new("files/{*rest}");
    assert_eq!(
        files
            .path_with("", &params(&[("rest", "x/y z")]))
            .as_deref(),
        Some("/files/x/y%20z")
    );
    assert_eq!(
        Route::new("").path_with("", &params(&[])).as_deref(),
        Some("/")
    );
    let rebuilt = route
        .path_with("api", &params(&[("id", "1"), ("note", "2")]))
        .expect("both given");
    assert_eq!(
        route.matches("api", &rebuilt),
        Some(params(&[("id", "1"), ("note", "2")]))
    );
}

#[test]
fn routes_print_their_methods_and_template() {
    assert_eq!(
        Route::get("orders").method(Method::POST).to_string(),
        "GET,POST /orders"
    );
    assert_eq!(Route::new("/files/{*p}/").to_string(), "* /files/{*p}");
    assert!(Route::new("x").allows(&Method::DELETE));
    assert!(!Route::get("x").allows(&Method::POST));
}

#[tokio::test]
async fn the_filter_answers_404_for_another_path_and_405_for_another_method() {
    let route = Route::get("orders/{id}").method(Method::PUT);
    let filter = route.filter("api");
    let found = warp::test::request()
        .path("/api/Orders/17")
        .filter(&filter)
        .await
        .expect("GET matches");
    assert_eq!(found.get("id"), Some("17"));
    let put = warp::test::request().method("PUT").path("/api/orders/1");
    assert!(put.matches(&filter).await, "PUT matches");
    let wrong_method = warp::test::request()
        .method("POST")
        .path("/api/orders/1")
        .filter(&filter)
        .await
        .expect_err("POST is not answered");
    assert!(
        wrong_method
            .find::<warp::reject::MethodNotAllowed>()
            .is_some()
    );
    let wrong_path = warp::test::request()
        .path("/api/orders")
        .filter(&filter)
        .await
        .expect_err("no id");
    assert!(wrong_path.is_not_found());
}

#[tokio::test]
async fn matches_the_function_path_in_any_case() {
    let filter = function("api", "cert-info");
    for (path, expected, reason) in [
        ("/api/cert-info", true, "exact path"),
        (
            "/API/Cert-Info",
            true,
            "the host matches routes case-insensitively",
        ),
        ("/api/cert-info/", true, "one trailing slash"),
        ("/api/cert-info/x", false, "a longer path is another route"),
        ("/cert-info", false, "the prefix is required"),
        ("/api/cert-infox", false, "no prefix matching"),
    ] {
        let matched = warp::test::request().path(path).matches(&filter).await;
        assert_eq!(matched, expected, "{reason}: {path}");
    }
}

#[test]
fn the_path_prefix_is_the_template_up_to_its_first_parameter() {
    for (route, prefix, expected) in [
        (Route::get("orders"), "api", "/api/orders"),
        (Route::post("orders/{id}"), "api", "/api/orders/"),
        (Route::new("files/{*path}"), "", "/files/"),
        (Route::new("{*rest}"), "api", "/api/"),
    ] {
        assert_eq!(route.path_prefix(prefix), expected, "{route}");
    }
}

#[test]
fn the_more_specific_of_two_templates_comes_first_as_the_host_orders_them() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    for (first, second, expected, reason) in [
        (
            "items/special",
            "items/{id}",
            Less,
            "a literal before a parameter",
        ),
        (
            "items/{id}",
            "items/special",
            Greater,
            "and the other way round",
        ),
        (
            "files/a/b",
            "files/{*path}",
            Less,
            "a literal before a catch-all",
        ),
        (
            "items/{id}/x",
            "items/{id}",
            Less,
            "the longer before its prefix",
        ),
        (
            "orders/{id}",
            "orders/{*rest}",
            Equal,
            "two parameters alike",
        ),
        ("Orders", "orders", Equal, "literals ignoring case"),
    ] {
        assert_eq!(
            Route::new(first).precedence(&Route::new(second)),
            expected,
            "{reason}: {first} vs {second}"
        );
    }
}

#[test]
fn review_a_one_segment_parameter_never_holds_a_slash_or_a_dot_segment() {
    // The host keeps `%2F` encoded in route values and removes dot segments before routing, so
    // `{id}` is one path segment there; decoded here, `..%2F..%2Fadmin` became `../../admin`,
    // which a function building an outbound path from it would send up the partner's tree.
    let route = Route::new("orders/{id}/shipment");
    for (path, expected) in [
        ("/api/orders/a%2Fb/shipment", Some("a%2Fb")),
        (
            "/api/orders/..%2F..%2Fadmin/shipment",
            Some("..%2F..%2Fadmin"),
        ),
        ("/api/orders/a%2fb/shipment", Some("a%2fb")),
        ("/api/orders/a%20b/shipment", Some("a b")),
        ("/api/orders/../shipment", None),
        ("/api/orders/%2E%2E/shipment", None),
        ("/api/orders/./shipment", None),
    ] {
        let matched = route.matches("api", path);
        assert_eq!(
            matched.as_ref().and_then(|params| params.get("id")),
            expected,
            "{path}"
        );
    }
}
