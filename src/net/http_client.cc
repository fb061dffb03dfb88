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

asio::awaitable<void> Exchange(const HttpRequest& request, Clock::time_point deadline,
                               Result<HttpResponse>& out) {
  const std::string where = request.address.ToString() + request.path;
  auto endpoints = co_await Resolve(request.address);
  if (!endpoints.ok()) {
    out = Status(endpoints.status().code(), fmt::format("{}: {}", where, endpoints.status().message()));
    co_return;
  }
  error_code ec;
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_at(deadline);  // one deadline for the whole exchange
  co_await stream.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) {
    out = Status(Code::kUnavailable, fmt::format("{}: cannot connect within {} ms", where, request.timeout_ms));
    co_return;
  }
  if (ec) {
    out = Status(Code::kUnavailable, fmt::format("{}: cannot connect: {}", where, ec.message()));
    co_return;
  }

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
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  http::response<http::string_body> response = parser.release();
  out = HttpResponse{.status = static_cast<int>(response.result_int()), .body = std::move(response.body())};
}

}  // namespace

Result<HttpResponse> HttpPost(const HttpRequest& request) {
  Result<HttpResponse> out = Status(Code::kIoError, "not run");
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(request.timeout_ms);
  asio::io_context io(1);
  asio::co_spawn(io, Exchange(request, deadline, out), [](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);  // only bad_alloc and the like: nothing here throws by design
  });
  io.run();
  return out;
}

}  // namespace shoal::net
