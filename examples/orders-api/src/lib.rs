//! orders-api: a function app of its own on mtls-handler. Besides the built-in `health`,
//! `cert-info` and `outbound-mtls` it serves
//!
//! - `GET /api/orders` (function folder `orders/`): the caller's orders;
//! - `POST /api/orders/{id}` (function folder `order-update/`): a status change for one order.
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

/// The orders of the partner `partner` (an example store: one order per partner).
fn orders_of(partner: &str) -> Vec<Order> {
    vec![Order {
        id: format!("{partner}-1"),
        status: "shipped".to_owned(),
    }]
}
