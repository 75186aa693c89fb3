//! orders-api: a function app of its own on mtls-handler. Besides the built-in `health`,
//! `cert-info` and `outbound-mtls` it serves
//!
//! - `GET /api/orders` (function folder `orders/`): the caller's orders;
//! - `POST /api/orders/{id}` (function folder `order-update/`): a status change for one order;
//! - `GET /api/orders/{id}/shipment` (function folder `shipment/`): the order's shipment, asked
//!   of the partner's own API over mutual TLS with the app's outbound identity.
//!
//! Both are protected: the client certificate is checked before either handler runs, and the
//! handler gets the caller's [`Authorized`] identity. Orders are kept per partner, keyed by
//! the principal the allowlist rule named (a policy rule's name is the partner id); the store
//! here is a fixed example, where a real app would call its database.

use mtls_handler::{AppBuilder, Authorized, ErrorReply, FunctionRequest, Route};
use serde::{Deserialize, Serialize};
use warp::Reply;

/// The longest order id and status accepted.
pub const MAX_FIELD_CHARS: usize = 64;

/// Adds this app's functions to `app` (the built-in ones are already there).
pub fn functions(app: AppBuilder) -> AppBuilder {
    app.function("orders", Route::get("orders"), list_orders)
        .function("order-update", Route::post("orders/{id}"), update_order)
        .function("shipment", Route::get("orders/{id}/shipment"), shipment)
}

/// One order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub status: String,
}

/// The body of `POST /api/orders/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: String,
}

/// `GET /api/orders`: `{"caller": <principal>, "orders": [...]}`.
async fn list_orders(caller: Authorized, _request: FunctionRequest) -> impl Reply {
    let orders = orders_of(caller.principal.value());
    warp::reply::json(&serde_json::json!({
        "caller": caller.principal,
        "orders": orders,
    }))
}

/// `POST /api/orders/{id}` with `{"status": "..."}`: the order as changed, and who changed it.
async fn update_order(
    caller: Authorized,
    request: FunctionRequest,
) -> Result<impl Reply, ErrorReply> {
    let id = request.param("id").unwrap_or_default().to_owned();
    let change: StatusChange = request.json()?;
    if id.chars().count() > MAX_FIELD_CHARS || change.status.chars().count() > MAX_FIELD_CHARS {
        return Err(ErrorReply::bad_request(
            "field_too_long",
            "an order id and a status are at most 64 characters",
        ));
    }
    if change.status.trim().is_empty() {
        return Err(ErrorReply::bad_request("status_missing", "give a status"));
    }
    Ok(warp::reply::json(&serde_json::json!({
        "caller": caller.principal,
        "order": Order { id, status: change.status },
    })))
}

/// `GET /api/orders/{id}/shipment`: `GET <REMOTE_API_URL's host>/shipments/{id}` on the
/// partner's API, over mutual TLS with the outbound identity (renewals followed), answered as
/// `{"caller", "order", "partnerStatus", "shipment"}`. The caller chooses only the id, and
/// only from a safe alphabet, so it stays a path segment: the host is never caller input.
async fn shipment(caller: Authorized, request: FunctionRequest) -> Result<impl Reply, ErrorReply> {
    let id = request.param("id").unwrap_or_default();
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if id.is_empty() || id.chars().count() > MAX_FIELD_CHARS || !id.chars().all(safe) {
        return Err(ErrorReply::bad_request(
            "invalid_order_id",
            "an order id is 1 to 64 letters, digits, - or _",
        ));
    }
    // 503 with the reason's code while outbound is not configured or its identity not loaded.
    let partner = request.state().outbound()?;
    let response = partner
        .get(&format!("/shipments/{id}"))
        .header("accept", "application/json")
        .send()
        .await?;
    let shipment: serde_json::Value =
        serde_json::from_slice(response.body()).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(response.body()).into_owned())
        });
    Ok(warp::reply::json(&serde_json::json!({
        "caller": caller.principal,
        "order": id,
        "partnerStatus": response.status().as_u16(),
        "shipment": shipment,
    })))
}

/// The orders of the partner `partner` (an example store: one order per partner).
fn orders_of(partner: &str) -> Vec<Order> {
    vec![Order {
        id: format!("{partner}-1"),
        status: "shipped".to_owned(),
    }]
}
