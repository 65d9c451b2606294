//! A tiny `wasi:http/proxy` component: answers every request with a greeting.
//!
//! The tests build it for `wasm32-wasip2` to package a real HTTP component,
//! whose world exports `wasi:http/incoming-handler` and imports
//! `wasi:http/types`.

use std::io::Write as _;

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Greeter;

impl wasi::exports::http::incoming_handler::Guest for Greeter {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let Ok(body) = response.body() else {
            return;
        };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(mut out) = body.write() {
            let _ = out.write_all(b"hello from wasi-http-demo\n");
            let _ = out.flush();
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasi::http::proxy::export!(Greeter);
