#include "net/http_client.h"

#include "net/asio.h"  // first: it includes <utility> before any asio header

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>

#include <fmt/format.h>

namespace shoal::net {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// The endpoints for `address`: an IP address as it is, a name through the resolver.
asio::awaitable<Result<tcp::resolver::results_type>> Resolve(const HostPort& address) {
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    co_return tcp::resolver::results_type::create(tcp::endpoint(ip, address.port), address.host,
                                                  std::to_string(address.port));
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto results = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status(Code::kUnavailable, fmt::format("cannot resolve {}: {}", address.host, ec.message()));
  co_return results;
}

// What a failed read of the answer means for the caller: see the table in http_client.h.
Status ReadError(const error_code& ec, const HttpRequest& request, const std::string& where) {
  if (ec == beast::error::timeout)
    return Status(Code::kTimedOut, fmt::format("{}: no answer within {} ms", where, request.timeout_ms));
  if (ec == http::error::body_limit)
    return Status(Code::kProtocolError,
                  fmt::format("{}: answer larger than {} bytes", where, request.body_limit_bytes));
  if (ec.category() == http::make_error_code(http::error::bad_version).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message)
    return Status(Code::kProtocolError, fmt::format("{}: not an HTTP answer: {}", where, ec.message()));
  return Status(Code::kIoError, fmt::format("{}: connection lost before the answer: {}", where, ec.message()));
}

// Connects `stream` to the request's server, unless it already is (a kept-alive connection).
asio::awaitable<Status> ConnectIfClosed(beast::tcp_stream& stream, const HttpRequest& request,
                                        const std::string& where) {
  if (stream.socket().is_open()) co_return Status::Ok();
  auto endpoints = co_await Resolve(request.address);
  if (!endpoints.ok()) co_return Status(endpoints.status().code(), fmt::format("{}: {}", where, endpoints.status().message()));
  error_code ec;
  co_await stream.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout)
    co_return Status(Code::kUnavailable, fmt::format("{}: cannot connect within {} ms", where, request.timeout_ms));
  if (ec) co_return Status(Code::kUnavailable, fmt::format("{}: cannot connect: {}", where, ec.message()));
  co_return Status::Ok();
}

// One request and its answer on `stream`, connecting it first if need be. `keep_alive`: whether
// the server lets the connection serve another request.
asio::awaitable<void> Exchange(beast::tcp_stream& stream, const HttpRequest& request, Clock::time_point deadline,
                               Result<HttpResponse>& out, bool& keep_alive) {
  const std::string where = request.address.ToString() + request.path;
  keep_alive = false;
  stream.expires_at(deadline);  // one deadline for the whole exchange
  if (Status connected = co_await ConnectIfClosed(stream, request, where); !connected.ok()) {
    out = connected;
    co_return;
  }

  error_code ec;
  http::request<http::string_body> message(http::verb::post, request.path, 11);
  message.set(http::field::host, request.address.ToString());
  message.set(http::field::content_type, "application/json");
  message.body() = request.body;
  message.prepare_payload();
  co_await http::async_write(stream, message, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) {
    out = Status(Code::kTimedOut, fmt::format("{}: could not send within {} ms", where, request.timeout_ms));
    co_return;
  }
  if (ec) {
    out = Status(Code::kIoError, fmt::format("{}: connection lost while sending: {}", where, ec.message()));
    co_return;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(request.body_limit_bytes);
  // The header first: Beast 1.74 forgets a Content-Length over body_limit when the body arrives in
  // the same read as the header (finish_header's error is overwritten), so we check it ourselves.
  co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && parser.content_length().value_or(0) > request.body_limit_bytes) ec = http::error::body_limit;
  if (!ec) co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out = ReadError(ec, request, where);
    co_return;
  }
  http::response<http::string_body> response = parser.release();
  // Whatever the server sent beyond the answer would be read as the next one's start.
  keep_alive = response.keep_alive() && buffer.size() == 0;
  out = HttpResponse{.status = static_cast<int>(response.result_int()), .body = std::move(response.body())};
}

// Runs `work` on `io` (reused between calls) to its end.
void Run(asio::io_context& io, asio::awaitable<void> work) {
  io.restart();
  asio::co_spawn(io, std::move(work), [](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);  // only bad_alloc and the like: nothing here throws by design
  });
  io.run();
}

Clock::time_point DeadlineOf(const HttpRequest& request) {
  return Clock::now() + std::chrono::milliseconds(request.timeout_ms);
}

}  // namespace

Result<HttpResponse> HttpPost(const HttpRequest& request) {
  Result<HttpResponse> out = Status(Code::kIoError, "not run");
  asio::io_context io(1);
  beast::tcp_stream stream(io);
  bool keep_alive;
  Run(io, Exchange(stream, request, DeadlineOf(request), out, keep_alive));
  return out;  // the connection closes here, with the stream
}

struct HttpConnection::State {
  asio::io_context io{1};
  beast::tcp_stream stream{io};  // open only between requests that were answered and kept it alive
};

HttpConnection::HttpConnection(HostPort address) : address_(std::move(address)), state_(std::make_unique<State>()) {}

HttpConnection::~HttpConnection() = default;

Result<HttpResponse> HttpConnection::Post(const HttpRequest& request) {
  const Clock::time_point deadline = DeadlineOf(request);
  const bool reused = open();
  Result<HttpResponse> out = Status(Code::kIoError, "not run");
  bool keep_alive = false;
  Run(state_->io, Exchange(state_->stream, request, deadline, out, keep_alive));
  if (!out.ok() && reused && out.status().code() == Code::kIoError) {
    // Most likely closed by the server while idle (or it restarted): once more on a new
    // connection, within the same deadline. Only a timeout is not tried again: it already took
    // all the time there was.
    Close();
    Run(state_->io, Exchange(state_->stream, request, deadline, out, keep_alive));
  }
  if (!out.ok() || !keep_alive) Close();
  return out;
}

bool HttpConnection::open() const { return state_->stream.socket().is_open(); }

void HttpConnection::Close() {
  error_code ignored;
  state_->stream.socket().close(ignored);
}

}  // namespace shoal::net
