// HttpPost: one synchronous HTTP/1.1 POST with a deadline, for the etcd JSON gateway.
//
// Each call opens its own connection and closes it when the answer is in: no state is shared, so
// calls may be made from any thread at once. Not reusing connections is deliberate: a request on
// a kept-alive connection that the server closed meanwhile cannot tell "not sent" from "sent and
// lost", and a compare-and-swap must know which (see the codes below). On loopback, where shoald
// talks to its own etcd member, a connection costs tens of microseconds.
//
// The outcome says what happened to the request, because a caller with several servers may only
// try the next one when the request certainly had no effect:
//   ok                   an HTTP response arrived (any status code: 4xx/5xx are the caller's to read);
//   kUnavailable         the request was never sent (name not resolved, connection refused or
//                        not established in time);
//   kTimedOut            sent, but no complete response before the deadline: it may have taken effect;
//   kIoError             the connection broke after sending: it may have taken effect;
//   kProtocolError       the response was not HTTP, or its body was larger than body_limit_bytes.
// Every message names the address and path.
//
// A host name is resolved with getaddrinfo, which timeout_ms does not bound; shoal passes addresses.
#pragma once

#include <cstdint>
#include <string>

#include "common/host_port.h"
#include "common/status.h"

namespace shoal::net {

struct HttpRequest {
  HostPort address;
  std::string path;          // "/v3/kv/put"
  std::string body;          // sent as application/json
  int timeout_ms = 2000;     // for the whole exchange: connect, send, receive
  uint64_t body_limit_bytes = 64 << 20;
};

struct HttpResponse {
  int status = 0;  // 200, 404, ...
  std::string body;
};

Result<HttpResponse> HttpPost(const HttpRequest& request);

}  // namespace shoal::net
