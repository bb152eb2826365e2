//! Route registration that also records each route, so that tests can
//! check the OpenAPI document against the routes the server really has.

use axum::routing::MethodRouter;
use axum::Router;
use http::Method;

/// One registered route: its method and path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The path template in axum's syntax, which is also OpenAPI's
    /// (`/api/catalog/entities/by-uid/{uid}`).
    pub path: &'static str,
}

/// A router being built, with the list of its routes.
pub struct RouteList<S> {
    router: Router<S>,
    routes: Vec<RouteInfo>,
}

impl<S: Clone + Send + Sync + 'static> RouteList<S> {
    pub fn new() -> RouteList<S> {
        RouteList {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Adds `handler` for `method` at `path`.
    pub fn route(mut self, method: Method, path: &'static str, handler: MethodRouter<S>) -> Self {
        self.routes.push(RouteInfo { method, path });
        self.router = self.router.route(path, handler);
        self
    }

    /// The router and its routes.
    pub fn finish(self) -> (Router<S>, Vec<RouteInfo>) {
        (self.router, self.routes)
    }
}

impl<S: Clone + Send + Sync + 'static> Default for RouteList<S> {
    fn default() -> Self {
        RouteList::new()
    }
}
