//! Reads one request header and adds one, like e2e/minimal in Go: the
//! least work any filter does per request.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Minimal) });
}}

struct Minimal;

impl Context for Minimal {}

impl HttpContext for Minimal {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let id = self
            .get_http_request_header("x-request-id")
            .unwrap_or_else(|| "none".to_string());
        self.add_http_request_header("x-minimal", &id);
        Action::Continue
    }
}
