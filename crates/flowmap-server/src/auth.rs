//! Who is asking, and may they: access control for every request (roles, tokens, sessions,
//! a trusted proxy), the browser protections (Host allow-list, Origin check, security
//! headers), and the sign-in pages.
//!
//! One middleware runs before every handler:
//!
//! 1. `/healthz` always answers. Every response carries the security headers.
//! 2. The `Host` must be the public URL's host or a loopback name (DNS rebinding).
//! 3. `/hooks/*` pass: webhooks prove themselves with their own secrets. So do a
//!    workshop's pages and calls (`/workshops/{id}…`, `/api/v1/workshops/{id}…`): their
//!    handlers check the workshop key (or the join code); only the Origin check applies.
//! 4. The actor comes from `Authorization: Bearer` (any case), else the session cookie,
//!    else the trusted proxy's header (only from a trusted address), else nobody.
//!    Nobody is the anonymous admin while access control is off (no tokens, no proxy,
//!    or `--open`), a viewer with `--public-read`, else refused: 401 for the API, a
//!    redirect to `/login` for pages.
//! 5. The route's role is checked: GET is viewer, `/api/v1/deliveries` admin, changes
//!    editor.
//! 6. A state-changing request that is not a bearer API call must come from this site:
//!    an `Origin` (or `Referer`) it carries must be the server's own, and a signed-in
//!    browser's request must carry its session's CSRF token (`X-CSRF-Token` header or
//!    `csrf` query parameter). The session cookie is `SameSite=Lax` as well.
//!
//! The chosen actor is put in the request's extensions for the handlers.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use flowmap_app::{Actor, Role};
use serde::Deserialize;

use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "flowmap_session";
/// The cookie that hands a signed-in browser its session's CSRF token. Unlike the session
/// cookie, page scripts read it (`static/csrf.js` adds it to every form that changes
/// something); another site can neither read it nor, with `SameSite=Strict`, send it.
pub const CSRF_COOKIE: &str = "flowmap_csrf";

/// How the server decides who may do what (`flowmap serve` flags).
#[derive(Clone, Debug, Default)]
pub struct AccessConfig {
    /// `--open`: no authentication even when tokens exist (a loud warning at start).
    pub open: bool,
    /// `--public-read`: viewer pages and the GET API for everyone.
    pub public_read: bool,
    /// `--public-url`: the origin browsers use, e.g. `https://flowmap.example.com`.
    pub public_url: Option<String>,
    /// `--auth-proxy-header`: the header a trusted proxy names the user in.
    pub proxy_header: Option<String>,
    /// The header a trusted proxy lists the user's groups in (comma-separated).
    pub proxy_groups_header: Option<String>,
    /// `--trusted-proxy`: addresses whose proxy headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Roles of proxy-authenticated users and groups; the highest applies.
    pub proxy_roles: ProxyRoles,
}

/// Roles for users a proxy authenticates, read from the `--auth-config` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyRoles {
    pub users: BTreeMap<String, Role>,
    pub groups: BTreeMap<String, Role>,
    /// The role of an authenticated user not listed; `None` refuses them.
    pub default: Option<Role>,
}

impl ProxyRoles {
    /// Parses the roles file: lines `user NAME ROLE`, `group NAME ROLE`, `default ROLE`;
    /// blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<ProxyRoles, String> {
        let mut roles = ProxyRoles::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let role = |text: &str| {
                flowmap_app::access::parse_role(text).ok_or_else(|| {
                    format!(
                        "line {}: {text:?} is not viewer, editor or admin",
                        number + 1
                    )
                })
            };
            match words.as_slice() {
                ["user", name, r] => {
                    roles.users.insert((*name).to_owned(), role(r)?);
                }
                ["group", name, r] => {
                    roles.groups.insert((*name).to_owned(), role(r)?);
                }
                ["default", r] => roles.default = Some(role(r)?),
                _ => {
                    return Err(format!(
                        "line {}: expected `user NAME ROLE`, `group NAME ROLE` or `default ROLE`",
                        number + 1
                    ));
                }
            }
        }
        Ok(roles)
    }

    fn role_of(&self, user: &str, groups: &[&str]) -> Option<Role> {
        let listed = self
            .users
            .get(user)
            .copied()
            .into_iter()
            .chain(groups.iter().filter_map(|g| self.groups.get(*g).copied()))
            .max();
        listed.or(self.default)
    }
}

/// An address block such as `10.0.0.0/8` or `::1/128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an address block like 10.0.0.0/8"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {bits}"))?,
            None => bits,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    /// Whether `address` is in the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        let (network, address, bits) = match (self.network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                (u128::from(n.to_bits()), u128::from(a.to_bits()), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => (n.to_bits(), a.to_bits(), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (network >> shift) == (address >> shift)
    }
}

/// Whether `path` is inside one workshop (`/workshops/{id}…` or
/// `/api/v1/workshops/{id}…`), where the workshop's keys are the credentials.
fn workshop_scoped(path: &str) -> bool {
    let rest = path
        .strip_prefix("/api/v1/workshops/")
        .or_else(|| path.strip_prefix("/workshops/"));
    rest.is_some_and(|rest| !rest.is_empty())
}

/// The role a route needs.
fn needed_role(method: &Method, path: &str) -> Role {
    if path.starts_with("/api/v1/deliveries") {
        Role::Admin
    } else if is_safe(method) || path == "/maps/preview" {
        // A preview computes and stores nothing.
        Role::Viewer
    } else {
        Role::Editor
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token of `Authorization: Bearer …`; the scheme is case-insensitive.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// The host part of a `Host` header or an origin (`https://h:1` → `h`).
/// The `host[:port]` of a URL, an `Origin` or a `Host` header.
fn authority(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("")
}

fn host_name(authority_or_url: &str) -> &str {
    let authority = authority(authority_or_url);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl AccessConfig {
    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        is_loopback_name(name)
            || self
                .public_url
                .as_deref()
                .is_some_and(|url| host_name(url).eq_ignore_ascii_case(name))
    }

    /// Whether a request may be from this site: its `Origin` (else `Referer`) is the
    /// public URL's origin or the host and port the request was sent to (another port on
    /// the same machine is another site's page). A request with neither is
    /// not from a browser page (browsers send `Origin` with every cross-site POST, PUT and
    /// DELETE), so it passes here; a signed-in browser's request must still carry the
    /// session's CSRF token.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
        else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = authority(origin);
        let request_host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(authority);
        !origin.is_empty()
            && (request_host.is_some_and(|h| h.eq_ignore_ascii_case(origin))
                || self
                    .public_url
                    .as_deref()
                    .is_some_and(|url| authority(url).eq_ignore_ascii_case(origin)))
    }

    fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// The security headers every response carries.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The access-control middleware (see the module documentation).
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/healthz" {
        return secure(next.run(request).await);
    }
    let access = &state.config().access;
    let headers = request.headers();
    if let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok())
        && !access.host_allowed(host)
    {
        return secure(refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this host name is not served here: use the server's public URL (--public-url)",
        ));
    }
    if path.starts_with("/hooks/") {
        return secure(next.run(request).await);
    }

    let method = request.method().clone();
    if workshop_scoped(&path) {
        // A workshop's own pages and calls: participants have no account, so their key
        // (checked by the handler, valid only in its workshop) or the join code is the
        // credential. A browser's change must still come from this site.
        if !is_safe(&method) && bearer_token(headers).is_none() && !access.same_origin(headers) {
            return secure(refuse(
                StatusCode::FORBIDDEN,
                "cross-site request refused: the Origin is not this server",
            ));
        }
        return secure(next.run(request).await);
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let bearer = bearer_token(headers).map(str::to_owned);
    let mut session_csrf = None;
    let identified = if let Some(secret) = &bearer {
        match state.app().authenticate(secret).await {
            Ok(Some(actor)) => Some(actor),
            Ok(None) => {
                return secure(refuse(
                    StatusCode::UNAUTHORIZED,
                    "the bearer token is unknown, revoked or expired",
                ));
            }
            Err(err) => return secure(crate::error::ApiError::internal(&err).into_response()),
        }
    } else if let Some(cookie) = cookie(headers, SESSION_COOKIE) {
        match state.app().session(cookie).await {
            Ok(Some(session)) => {
                session_csrf = Some(session.csrf);
                Some(session.actor)
            }
            Ok(None) => None,
            Err(err) => return secure(crate::error::ApiError::internal(&err).into_response()),
        }
    } else {
        proxy_actor(access, headers, peer)
    };

    let required = match access.open {
        true => false,
        false => match state.app().has_tokens().await {
            Ok(has) => has || access.proxy_header.is_some(),
            Err(err) => return secure(crate::error::ApiError::internal(&err).into_response()),
        },
    };
    let actor = identified.or_else(|| {
        if !required {
            Some(Actor::anonymous())
        } else if access.public_read {
            Some(Actor::new("anonymous", Role::Viewer))
        } else {
            None
        }
    });
    if path == "/login" || path == "/logout" || path.starts_with("/static/") {
        if !is_safe(&method) && !access.same_origin(request.headers()) {
            return secure(refuse(StatusCode::FORBIDDEN, "cross-site request refused"));
        }
        return secure(next.run(request).await);
    }
    let needed = needed_role(&method, &path);
    let Some(actor) = actor else {
        if path.starts_with("/api/") || !is_safe(&method) {
            let mut response = refuse(
                StatusCode::UNAUTHORIZED,
                "sign in: send Authorization: Bearer <token> (flowmap token create)",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return secure(response);
        }
        return secure(Redirect::to("/login").into_response());
    };
    if !actor.can(needed) {
        return secure(refuse(
            StatusCode::FORBIDDEN,
            &format!("{} may not do this: it needs the {needed} role", actor.name),
        ));
    }
    if !is_safe(&method) && bearer.is_none() {
        if !access.same_origin(request.headers()) {
            return secure(refuse(
                StatusCode::FORBIDDEN,
                "cross-site request refused: the Origin is not this server",
            ));
        }
        if let Some(expected) = &session_csrf {
            let presented = request
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| csrf_query(request.uri().query()));
            if presented.as_deref() != Some(expected.as_str()) {
                return secure(refuse(
                    StatusCode::FORBIDDEN,
                    "the CSRF token is missing or wrong",
                ));
            }
        }
    }
    request.extensions_mut().insert(actor);
    if let Some(csrf) = session_csrf {
        request.extensions_mut().insert(CsrfToken(csrf));
    }
    secure(next.run(request).await)
}

/// The signed-in browser's CSRF token, for pages that render forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn csrf_query(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("csrf="))
        .map(str::to_owned)
}

/// The actor a trusted proxy names, when the request comes from a trusted address.
fn proxy_actor(access: &AccessConfig, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<Actor> {
    let header_name = access.proxy_header.as_deref()?;
    let peer = peer?;
    if !access
        .trusted_proxies
        .iter()
        .any(|cidr| cidr.contains(peer))
    {
        return None;
    }
    let user = headers.get(header_name)?.to_str().ok()?.trim();
    if user.is_empty() {
        return None;
    }
    let groups: Vec<&str> = access
        .proxy_groups_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let role = access.proxy_roles.role_of(user, &groups)?;
    Some(Actor::new(user, role))
}

/// `GET /login`: the sign-in form.
pub async fn login_form() -> Response {
    login_page(StatusCode::OK, "")
}

fn login_page(status: StatusCode, problem: &str) -> Response {
    let problem = if problem.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\">{problem}</p>")
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · flowmap</title>\
         <link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main>\
         <h1>Sign in</h1>{problem}\
         <form class=\"card stack\" method=\"post\" action=\"/login\">\
         <label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Ask an admin for a token (<code>flowmap token create NAME --role viewer</code>).</p>\
         </main></body></html>"
    );
    (status, Html(body)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: exchanges a token for a session cookie.
pub async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    match state.app().sign_in(form.token.trim()).await {
        Ok(Some((cookie, session))) => {
            let secure = if state.config().access.secure_cookies() {
                "; Secure"
            } else {
                ""
            };
            let value = format!(
                "{SESSION_COOKIE}={cookie}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
                flowmap_app::access::SESSION_LIFETIME.as_secs()
            );
            let csrf = format!(
                "{CSRF_COOKIE}={}; SameSite=Strict; Path=/; Max-Age={}{secure}",
                session.csrf,
                flowmap_app::access::SESSION_LIFETIME.as_secs()
            );
            let mut response = Redirect::to("/").into_response();
            for value in [value, csrf] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Ok(None) => login_page(
            StatusCode::UNAUTHORIZED,
            "That token is unknown, revoked or expired.",
        ),
        Err(err) => {
            let message = crate::error::ApiError::internal(&err).message;
            login_page(StatusCode::INTERNAL_SERVER_ERROR, &message)
        }
    }
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(cookie) = cookie(&headers, SESSION_COOKIE)
        && let Err(err) = state.app().sign_out(cookie).await
    {
        return crate::error::ApiError::internal(&err).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("flowmap_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("flowmap_csrf=; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_blocks() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains("10.1.200.3".parse().unwrap()));
        assert!(!block.contains("10.2.0.1".parse().unwrap()));
        assert!(block.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        for value in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(bearer_token(&headers), Some("abc"), "{value}");
        }
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn proxy_roles_file() {
        let roles = ProxyRoles::parse(
            "# who may do what\nuser ada@example.com admin\ngroup platform editor\ndefault viewer\n",
        )
        .unwrap();
        assert_eq!(roles.role_of("ada@example.com", &[]), Some(Role::Admin));
        assert_eq!(
            roles.role_of("bob@example.com", &["platform"]),
            Some(Role::Editor)
        );
        assert_eq!(roles.role_of("eve@example.com", &[]), Some(Role::Viewer));
        assert!(
            ProxyRoles::parse("user x owner")
                .unwrap_err()
                .contains("line 1")
        );
    }

    #[test]
    fn hosts_and_origins() {
        let access = AccessConfig {
            public_url: Some("https://flowmap.example.com".into()),
            ..AccessConfig::default()
        };
        for host in [
            "localhost:7878",
            "127.0.0.1",
            "[::1]:80",
            "flowmap.example.com",
        ] {
            assert!(access.host_allowed(host), "{host}");
        }
        assert!(!access.host_allowed("evil.example:7878"));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:7878"));
        assert!(
            access.same_origin(&headers),
            "no Origin: not a browser page"
        );
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(
            !access.same_origin(&headers),
            "a sandboxed page's null origin"
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:7878"),
        );
        assert!(access.same_origin(&headers));
        // Another port of the same machine is another site (a local dev server's page).
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:3000"),
        );
        assert!(!access.same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!access.same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://flowmap.example.com"),
        );
        assert!(access.same_origin(&headers), "the public URL's origin");
    }
}
