//! The HTTP API and the page (`run`, `serve`): JSON over HTTP/1.1 with axum, per the contract's
//! "HTTP API" section and `openapi.json` beside this file (served at `/api/v1/openapi.json`).
//!
//! Handlers only read the [`Snapshot`] (an `Arc` clone) and the [`Store`] (on tokio's blocking
//! pool): nothing here ever waits on capture. What the API asks of the pipeline thread
//! ([`Command`]) goes through a bounded channel with `try_send`: a full channel is a 503, never
//! a wait.
//!
//! Safety rails: the server refuses a non-loopback address without a token; with a token, every
//! path but `/healthz` needs `Authorization: Bearer <token>` (compared in constant time; the page
//! also takes `/?token=`); request bodies are capped at [`MAX_BODY`]; every bad parameter
//! (unknown query keys included) is a 400 with `{"error": ...}`, every unknown id a 404; the
//! page is served with a strict Content-Security-Policy (its inline script and style allowed by
//! hash, see [`page`]) and renders what the network told us (device names, topics) as text only.

mod alerts;
mod fromstore;
mod inventory;
mod page;
mod render;

pub use alerts::parse_since;
pub use fromstore::snapshot_from_store;

use crate::detect::alert::Alert;
use crate::detect::rules::Category;
use crate::snapshot::{Command, Shared, Snapshot};
use crate::store::Store;
use anyhow::Context;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest request body accepted (the only bodies are `PUT /api/v1/mode`'s few bytes).
pub const MAX_BODY: usize = 16 * 1024;
/// Default and hard ceiling of `max_page`.
pub const DEFAULT_MAX_PAGE: usize = 500;
/// Alerts per page when `limit` is not given (or `max_page` if smaller).
pub const DEFAULT_LIMIT: usize = 100;
/// Devices, or graph items, per page when `limit` is not given (or `max_page` if smaller).
pub const DEFAULT_INVENTORY_LIMIT: usize = 500;
/// Most graph items (edges, then isolated nodes) in `GET /api/v1/graph?format=dot`: the DOT is
/// the first page of this size, with a comment saying so when the graph is larger.
pub const MAX_DOT_ITEMS: usize = 2000;
/// How long open connections may take to finish once shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(5);

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    /// Bearer token every request but `/healthz` must carry; required off loopback.
    pub token: Option<String>,
    /// Most alerts, devices or graph items per page (`limit`'s maximum), default 500.
    pub max_page: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            token: None,
            max_page: DEFAULT_MAX_PAGE,
        }
    }
}

/// Extra Prometheus text appended to `/metrics` (complete families with HELP/TYPE lines).
pub type MetricsExtra = Arc<dyn Fn() -> String + Send + Sync>;

/// What the handlers read and where they send commands.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<Store>,
    pub snapshot: Shared,
    /// The pipeline thread's command channel (`run`); `None` in `serve`, where learning and
    /// mode changes are refused with 409.
    pub commands: Option<SyncSender<Command>>,
    /// Appended to `/metrics` when set (e.g. per-interface counters of `run`).
    pub metrics_extra: Option<MetricsExtra>,
}

/// Serves until `shutdown` resolves, then lets open requests finish (at most 5 s). Refuses to
/// start on a non-loopback address without a token, or with an empty token.
pub async fn serve(
    cfg: ApiConfig,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    check_config(&cfg)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {} for the API", cfg.listen))?;
    serve_on(listener, cfg, state, shutdown).await
}

/// [`serve`] on a listener already bound (tests bind port 0). `cfg.listen` is ignored except
/// for the loopback check, which looks at the listener's address.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    cfg: ApiConfig,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("the API listener's address")?;
    check_config(&ApiConfig {
        listen: addr,
        ..cfg.clone()
    })?;
    tracing::info!(
        "API on http://{addr}/{}",
        if cfg.token.is_some() {
            " (token required)"
        } else {
            ""
        }
    );
    let app = Arc::new(App::new(&cfg, state));
    let keeper = tokio::spawn(keep_snapshots(Arc::clone(&app)));
    let app = routes(app);
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        if rx.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(stopped(rx.clone()));
    tokio::select! {
        r = server => r.context("the API server failed")?,
        () = async { stopped(rx).await; tokio::time::sleep(DRAIN).await } => {
            tracing::warn!("API: connections still open {DRAIN:?} after shutdown; closing them");
        }
    }
    keeper.abort();
    Ok(())
}

/// Holds the newest snapshot (looking every 100 ms), so that when `run` publishes the next one
/// the swap does not free the previous one (for a large site, tens of milliseconds of freeing,
/// on the pipeline thread and under the lock every request takes); old snapshots, and those
/// the view cache lets go of when unused, are freed here on the blocking pool instead.
async fn keep_snapshots(app: Arc<App>) {
    let shared = app.state.snapshot.clone();
    let mut held = shared.get();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let s = shared.get();
        let trimmed = app.views.trim();
        if !Arc::ptr_eq(&s, &held) || !trimmed.is_empty() {
            let old = std::mem::replace(&mut held, s);
            tokio::task::spawn_blocking(move || drop((old, trimmed)));
        }
    }
}

/// Checks a configuration the way [`serve`] does, for callers that want to fail before starting
/// other work (a non-loopback address without a token, an empty token, `max_page` 0).
pub fn check_config(cfg: &ApiConfig) -> anyhow::Result<()> {
    match cfg.token.as_deref() {
        Some(t) if t.trim().is_empty() => anyhow::bail!("the API token is empty"),
        Some(t) if t.chars().any(|c| c.is_control() || c == ' ') => {
            anyhow::bail!("the API token must not hold spaces or control characters")
        }
        Some(_) => {}
        None if !cfg.listen.ip().is_loopback() => anyhow::bail!(
            "refusing to serve the API on {} without a token: that address is reachable from \
             other machines; give a token (--token) or listen on 127.0.0.1",
            cfg.listen
        ),
        None => {}
    }
    if cfg.max_page == 0 {
        anyhow::bail!("max_page must be at least 1");
    }
    Ok(())
}

/// Everything a handler needs.
struct App {
    state: ApiState,
    token: Option<Vec<u8>>,
    max_page: usize,
    /// Alert ids to store keys; also serialises the API's read-modify-writes of alerts.
    index: Mutex<alerts::IdIndex>,
    /// Indexes of the newest snapshot, for paging the inventory and the graph.
    views: Arc<inventory::ViewCache>,
    openapi: Value,
}

type AppState = State<Arc<App>>;

/// The routes, with authentication, the body limit and the common headers.
pub fn router(cfg: &ApiConfig, state: ApiState) -> Router {
    routes(Arc::new(App::new(cfg, state)))
}

impl App {
    fn new(cfg: &ApiConfig, state: ApiState) -> App {
        let mut openapi: Value =
            serde_json::from_str(include_str!("openapi.json")).unwrap_or_else(|_| json!({}));
        for p in ["limit", "pageLimit"] {
            let at = format!("/components/parameters/{p}/schema/maximum");
            if let Some(m) = openapi.pointer_mut(&at) {
                *m = json!(cfg.max_page);
            }
        }
        App {
            state,
            token: cfg.token.as_ref().map(|t| t.as_bytes().to_vec()),
            max_page: cfg.max_page.max(1),
            index: Mutex::new(alerts::IdIndex::default()),
            views: Arc::default(),
            openapi,
        }
    }
}

fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page_handler))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_handler))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/ack", post(ack_alert))
        .route("/api/v1/alerts/{id}/learn", post(learn_alert))
        .route("/api/v1/mode", get(get_mode).put(put_mode))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/{id}", get(device))
        .route("/api/v1/graph", get(graph))
        .route("/api/v1/stats", get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), auth))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::map_response(common_headers))
        .with_state(app)
}

// ---------------------------------------------------------------------------------------------
// Errors, parameters, authentication

/// An error answer: the status and `{"error": message}`.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::NOT_FOUND, msg.into())
    }
    fn internal(msg: impl std::fmt::Display) -> ApiError {
        tracing::error!("API: {msg}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, msg.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// Query parameters, checked against the names an endpoint takes.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(
        q: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> ApiResult<Params> {
        let Query(pairs) = q.map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad(if allowed.is_empty() {
                    format!("unknown parameter {:?}: this endpoint takes none", clip(k))
                } else {
                    format!(
                        "unknown parameter {:?}; this endpoint takes {}",
                        clip(k),
                        allowed.join(", ")
                    )
                }));
            }
            if pairs[..i].iter().any(|(p, _)| p == k) {
                return Err(ApiError::bad(format!("parameter {k:?} given twice")));
            }
        }
        Ok(Params(pairs))
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str())
    }
    /// `limit`: 1 to `max`, `default` when not given.
    fn limit(&self, default: usize, max: usize) -> ApiResult<usize> {
        match self.get("limit") {
            None => Ok(default.min(max)),
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad(format!(
                    "limit must be an integer from 1 to {max}, not {:?}",
                    clip(l)
                ))),
            },
        }
    }
}

/// At most 80 characters of something a client sent, for error messages.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn path_id(p: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    p.map(|Path(id)| id)
        .map_err(|e| ApiError::bad(format!("bad path: {e}")))
}

/// Runs store work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
}

/// Equality whose time depends only on the expected value's length.
fn ct_eq(given: &[u8], want: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != want.len());
    for (i, w) in want.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(!*w) ^ w;
    }
    diff == 0
}

async fn auth(State(app): AppState, req: Request, next: Next) -> Response {
    let Some(token) = app.token.as_deref() else {
        return next.run(req).await;
    };
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let mut ok = bearer.is_some_and(|b| ct_eq(b.as_bytes(), token));
    if !ok && req.uri().path() == "/" {
        // The page: opened as /?token=..., it keeps the token and sends it as a header.
        if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(req.uri()) {
            ok = pairs
                .iter()
                .any(|(k, v)| k == "token" && ct_eq(v.as_bytes(), token));
        }
    }
    if ok {
        return next.run(req).await;
    }
    let mut r = ApiError(
        StatusCode::UNAUTHORIZED,
        "missing or wrong token: send `Authorization: Bearer <token>` (the page: open \
         /?token=<token>)"
            .into(),
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"edgetap\""),
    );
    r
}

async fn common_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no such endpoint: {} {} (see /api/v1/openapi.json)",
        req.method(),
        clip(req.uri().path())
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}",
            req.method(),
            clip(req.uri().path())
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn page_handler(q: Result<Query<Vec<(String, String)>>, QueryRejection>) -> ApiResult {
    Params::new(q, &["token"])?;
    let p = page::page();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&p.csp)
                    .map_err(|e| ApiError::internal(format!("page CSP header: {e}")))?,
            ),
        ],
        p.html.clone(),
    )
        .into_response())
}

async fn healthz(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    let s = app.state.snapshot.get();
    // `run` is healthy while it captures; `serve` while it serves.
    let up = s.capturing || app.state.commands.is_none();
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((
        status,
        Json(json!({
            "status": if up { "ok" } else { "not_capturing" },
            "mode": mode_name(&s),
            "capturing": s.capturing,
            "sensor": {
                "blind_now": s.stats.pointer("/sensor/blind_now").cloned().unwrap_or(json!(false)),
                "gaps": s.stats.pointer("/sensor/gaps").cloned().unwrap_or(json!(0)),
                "last_gap": s.stats.pointer("/sensor/recent_gaps/0").cloned().unwrap_or(Value::Null),
            },
        })),
    )
        .into_response())
}

fn mode_name(s: &Snapshot) -> &str {
    if s.mode.is_empty() {
        "starting"
    } else {
        &s.mode
    }
}

async fn metrics(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    let s = app.state.snapshot.get();
    let store = Arc::clone(&app.state.store);
    let disk = blocking(move || Ok(store.disk_bytes())).await?;
    let mut text = render::metrics(&s, Some(disk));
    if let Some(extra) = &app.state.metrics_extra {
        let more = extra();
        text.push_str(&more);
        if !more.is_empty() && !more.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

async fn openapi_handler(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    Ok(Json(app.openapi.clone()).into_response())
}

async fn list_alerts(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let p = Params::new(q, &["since", "category", "device", "limit", "cursor"])?;
    let query = alerts::AlertQuery {
        since_ns: p
            .get("since")
            .map(|s| parse_since(s).map_err(ApiError::bad))
            .transpose()?,
        category: p
            .get("category")
            .map(|c| {
                Category::parse(c).ok_or_else(|| {
                    ApiError::bad(format!(
                        "unknown category {:?}; one of {}",
                        clip(c),
                        Category::ALL.map(Category::name).join(", ")
                    ))
                })
            })
            .transpose()?,
        device: match p.get("device") {
            Some("") => return Err(ApiError::bad("device is empty")),
            d => d.map(str::to_string),
        },
        limit: p.limit(DEFAULT_LIMIT, app.max_page)?,
        cursor: p
            .get("cursor")
            .map(|c| alerts::decode_cursor(c).map_err(ApiError::bad))
            .transpose()?,
    };
    let store = Arc::clone(&app.state.store);
    let page = blocking(move || alerts::list(&store, &query).map_err(ApiError::internal)).await?;
    Ok(Json(json!({"alerts": page.alerts, "next": page.next})).into_response())
}

/// Finds an alert by id (404 when unknown), on the blocking pool; `f` runs under the index
/// lock with the alert's key, so read-modify-writes are serialised.
async fn with_alert<T: Send + 'static>(
    app: &Arc<App>,
    id: String,
    f: impl FnOnce(&Store, &[u8], Alert) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let app = Arc::clone(app);
    blocking(move || {
        let mut index = match app.index.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let store = &app.state.store;
        match index.find(store, &id).map_err(ApiError::internal)? {
            Some((key, alert)) => f(store, &key, alert),
            None => Err(ApiError::not_found(format!("no alert {:?}", clip(&id)))),
        }
    })
    .await
}

async fn get_alert(
    State(app): AppState,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    Params::new(q, &[])?;
    let a = with_alert(&app, id, |_, _, a| Ok(a)).await?;
    Ok(Json(alerts::render(&a)).into_response())
}

async fn ack_alert(
    State(app): AppState,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    Params::new(q, &[])?;
    let a = with_alert(&app, id, |store, key, a| {
        alerts::acknowledge(store, key, a).map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(alerts::render(&a)).into_response())
}

fn no_pipeline() -> ApiError {
    ApiError(
        StatusCode::CONFLICT,
        "not capturing: this server shows a state directory (`edgetap serve`); learning and \
         mode changes need the appliance (`edgetap run`)"
            .into(),
    )
}

fn send(tx: &SyncSender<Command>, c: Command) -> ApiResult<()> {
    tx.try_send(c).map_err(|e| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            match e {
                TrySendError::Full(_) => "the pipeline is busy with earlier commands; try again",
                TrySendError::Disconnected(_) => "the pipeline has stopped",
            }
            .into(),
        )
    })
}

async fn learn_alert(
    State(app): AppState,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    Params::new(q, &[])?;
    let Some(tx) = app.state.commands.clone() else {
        return Err(no_pipeline());
    };
    let a = with_alert(&app, id, move |store, key, a| {
        send(&tx, Command::Accept(a.id.clone()))?;
        alerts::acknowledge(store, key, a).map_err(ApiError::internal)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(alerts::render(&a))).into_response())
}

async fn get_mode(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    let s = app.state.snapshot.get();
    Ok(Json(json!({
        "mode": mode_name(&s),
        "capturing": s.capturing,
        "can_change": app.state.commands.is_some(),
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

async fn put_mode(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Result<Json<ModeBody>, JsonRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    let Json(body) = body.map_err(|e| {
        // Syntax and data errors alike are a bad request; too large (413) and not JSON (415)
        // keep their own status.
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => e.status(),
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(
            status,
            format!(
                "bad body: {} (send {{\"mode\": \"learning\"}} or {{\"mode\": \"protecting\"}} \
                 as application/json)",
                e.body_text()
            ),
        )
    })?;
    let cmd = match body.mode.as_str() {
        "learning" => Command::Learn,
        "protecting" => Command::Protect,
        m => {
            return Err(ApiError::bad(format!(
                "unknown mode {:?}: learning or protecting",
                clip(m)
            )))
        }
    };
    let Some(tx) = &app.state.commands else {
        return Err(no_pipeline());
    };
    send(tx, cmd)?;
    let s = app.state.snapshot.get();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"mode": body.mode, "previous": mode_name(&s)})),
    )
        .into_response())
}

/// Runs `f` on the blocking pool with a snapshot and its index `k` built (see
/// [`inventory::ViewCache`]): building indexes, serialising a page and freeing snapshots stay
/// off the API's async worker.
async fn with_views(
    app: &Arc<App>,
    k: inventory::Kind,
    f: impl FnOnce(&Snapshot, &inventory::Views) -> ApiResult + Send + 'static,
) -> ApiResult {
    let s = app.state.snapshot.get();
    let views = Arc::clone(&app.views);
    blocking(move || {
        let v = views.get(s, k);
        f(&v.snap, &v)
    })
    .await
}

async fn devices(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let p = Params::new(q, &["format", "limit", "cursor"])?;
    let csv = match p.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::bad(format!(
                "unknown format {:?}: json or csv",
                clip(f)
            )))
        }
    };
    if csv {
        if p.get("limit").is_some() || p.get("cursor").is_some() {
            return Err(ApiError::bad(
                "format=csv is the whole inventory, not paged: give no limit or cursor",
            ));
        }
        let s = app.state.snapshot.get();
        let body = blocking(move || Ok(crate::identify::export::csv(&s.devices))).await?;
        return Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"edgetap-inventory.csv\"",
                ),
            ],
            body,
        )
            .into_response());
    }
    let limit = p.limit(DEFAULT_INVENTORY_LIMIT, app.max_page)?;
    let cursor = p
        .get("cursor")
        .map(|c| inventory::Cursor::decode(c, false))
        .transpose()?;
    with_views(&app, inventory::Kind::Devices, move |s, v| {
        let page = v.devices().page(&s.devices, cursor.as_ref(), limit);
        Ok(Json(page).into_response())
    })
    .await
}

async fn device(
    State(app): AppState,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let id = path_id(id)?;
    Params::new(q, &[])?;
    with_views(&app, inventory::Kind::Devices, move |s, v| {
        match v.devices().find(&s.devices, &id) {
            Some(d) => Ok(Json(d).into_response()),
            None => Err(ApiError::not_found(format!("no device {:?}", clip(&id)))),
        }
    })
    .await
}

async fn graph(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let p = Params::new(q, &["format", "limit", "cursor"])?;
    let dot = match p.get("format") {
        None | Some("json") => false,
        Some("dot") => true,
        Some(f) => {
            return Err(ApiError::bad(format!(
                "unknown format {:?}: json or dot",
                clip(f)
            )))
        }
    };
    if dot && (p.get("limit").is_some() || p.get("cursor").is_some()) {
        return Err(ApiError::bad(format!(
            "format=dot is not paged (it shows at most the first {MAX_DOT_ITEMS} edges): \
             give no limit or cursor, or page the JSON"
        )));
    }
    let limit = p.limit(DEFAULT_INVENTORY_LIMIT, app.max_page)?;
    let cursor = p
        .get("cursor")
        .map(|c| inventory::Cursor::decode(c, true))
        .transpose()?;
    with_views(&app, inventory::Kind::Graph, move |s, v| {
        let idx = v.graph();
        if !dot {
            let page = idx.page(&s.graph, cursor.as_ref(), limit);
            return Ok(Json(page).into_response());
        }
        let page = idx.page(&s.graph, None, MAX_DOT_ITEMS);
        let note = page.next.as_ref().map(|_| {
            format!(
                "truncated: the first {} of {} edges (by client, server, transport, port) and {} \
                 of {} devices without edges; GET /api/v1/graph pages through all of them as JSON",
                page.edges.len(),
                idx.edges,
                page.items - page.edges.len(),
                idx.isolated
            )
        });
        Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/vnd.graphviz; charset=utf-8"),
            )],
            render::dot(&page.nodes, &page.edges, note.as_deref()),
        )
            .into_response())
    })
    .await
}

async fn stats(
    State(app): AppState,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    Params::new(q, &[])?;
    let s = app.state.snapshot.get();
    let mut v = match &s.stats {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    if let Value::Object(m) = &mut v {
        m.insert("mode".into(), mode_name(&s).into());
        m.insert("capturing".into(), s.capturing.into());
        m.insert("packet_time_ns".into(), s.packet_time_ns.into());
    }
    Ok(Json(v).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secreT", b"secret"));
        assert!(!ct_eq(b"secret1", b"secret"));
        assert!(!ct_eq(b"secre", b"secret"));
        assert!(!ct_eq(b"", b"secret"));
        // A shorter given value padded with what would match must not pass.
        assert!(!ct_eq(b"\x00", b"\x00\x00"));
    }

    #[test]
    fn config_checks() {
        let mut c = ApiConfig::default();
        assert!(check_config(&c).is_ok());
        c.listen = "0.0.0.0:8787".parse().unwrap();
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.contains("without a token"), "{e}");
        c.token = Some("t0k".into());
        assert!(check_config(&c).is_ok());
        c.token = Some(" ".into());
        assert!(check_config(&c).is_err());
        c.listen = "[::1]:1".parse().unwrap();
        c.token = None;
        assert!(check_config(&c).is_ok());
    }

    #[test]
    fn openapi_parses_and_has_the_limit_parameter() {
        let v: Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        assert!(v
            .pointer("/components/parameters/limit/schema/maximum")
            .is_some());
    }
}
