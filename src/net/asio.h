// The one way into Boost.Asio for shoal. Boost 1.74's awaitable.hpp does not compile with GCC 12
// unless <utility> comes first (a known header bug), so every asio include goes through here.
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace shoal::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
}  // namespace shoal::net
